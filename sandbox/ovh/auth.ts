// Authentication of one request, as the OVH API does it: application key, consumer key,
// timestamp, signature, credential state, then the credential's access rules. Pure: the
// caller passes the request's headers and the server's clock.
import { authError, queryOutOfTime, unauthorized, UNVERIFIED } from './errors';
import { ovhSignature, signatureMatches, signedUrl } from './signature';

export interface OvhCredential {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
  state?: 'validated' | 'pendingValidation' | 'expired';
  /** Access rules; default: every call. A path may end with '*'. */
  grants?: { method: string; path: string }[];
}

export interface RequestToAuthenticate {
  method: string;
  /** The request target as received: /1.0/ip/203.0.113.10%2F32?x=y */
  rawTarget: string;
  /** The API path, decoded, without base path and query: /ip/203.0.113.10/32 (matched against grants). */
  apiPath: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function header(headers: RequestToAuthenticate['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Calls under /auth are not signed (the client sends no timestamp or signature for them). */
export function isUnsignedRoute(apiPath: string): boolean {
  return apiPath.startsWith('/auth');
}

/** Returns the credential that signed the request, or throws the OVH error answer. */
export function authenticate(req: RequestToAuthenticate, credentials: readonly OvhCredential[], nowSeconds: number): OvhCredential {
  const appKey = header(req.headers, 'X-Ovh-Application');
  if (!appKey || !credentials.some((c) => c.applicationKey === appKey)) throw authError('INVALID_KEY');

  const consumerKey = header(req.headers, 'X-Ovh-Consumer');
  if (!consumerKey) throw unauthorized();
  const credential = credentials.find((c) => c.applicationKey === appKey && c.consumerKey === consumerKey);
  if (!credential) throw authError('NOT_CREDENTIAL');

  const timestamp = header(req.headers, 'X-Ovh-Timestamp') ?? '';
  if (!/^\d+$/.test(timestamp) || Math.abs(Number(timestamp) - nowSeconds) > UNVERIFIED.timestampToleranceSeconds) {
    throw queryOutOfTime();
  }

  const expected = ovhSignature({
    applicationSecret: credential.applicationSecret,
    consumerKey,
    method: req.method.toUpperCase(),
    url: signedUrl(header(req.headers, 'Host') ?? '', req.rawTarget),
    body: req.body,
    timestamp,
  });
  if (!signatureMatches(header(req.headers, 'X-Ovh-Signature') ?? '', expected)) throw authError('INVALID_SIGNATURE');

  if ((credential.state ?? 'validated') !== 'validated') throw authError('INVALID_CREDENTIAL');
  if (credential.grants && !credential.grants.some((g) => grantAllows(g, req.method, req.apiPath))) throw authError('NOT_GRANTED_CALL');
  return credential;
}

/** An access rule such as { method: 'GET', path: '/ip/*' }. */
export function grantAllows(grant: { method: string; path: string }, method: string, apiPath: string): boolean {
  if (grant.method.toUpperCase() !== method.toUpperCase()) return false;
  return grant.path.endsWith('*') ? apiPath.startsWith(grant.path.slice(0, -1)) : apiPath === grant.path;
}
