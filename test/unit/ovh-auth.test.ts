// The simulator's authenticator (pure): each refusal OVH documents, with its exact body,
// and the endpoint parsing of the adapter's client factory.
import { describe, expect, it } from 'vitest';
import { ovhConnection } from '../../activities/ovh/client';
import { authenticate, type OvhCredential } from '../../sandbox/ovh/auth';
import { OvhHttpError } from '../../sandbox/ovh/errors';
import { ovhSignature } from '../../sandbox/ovh/signature';

const NOW = 1_700_000_000;
const good: OvhCredential = { applicationKey: 'ak1', applicationSecret: 'as1', consumerKey: 'ck1' };
const pending: OvhCredential = { applicationKey: 'ak1', applicationSecret: 'as1', consumerKey: 'ck-pending', state: 'pendingValidation' };
const readOnly: OvhCredential = { applicationKey: 'ak2', applicationSecret: 'as2', consumerKey: 'ck2', grants: [{ method: 'GET', path: '/ip/*' }] };
const credentials = [good, pending, readOnly];

function request(opts: { ak?: string; as?: string; ck?: string | null; ts?: number; method?: string; target?: string; body?: string }) {
  const method = opts.method ?? 'POST';
  const target = opts.target ?? '/1.0/ip/203.0.113.10%2F32/move';
  const body = opts.body ?? '{"to":"ns1"}';
  const ts = String(opts.ts ?? NOW);
  const headers: Record<string, string> = { host: 'localhost:9443', 'x-ovh-application': opts.ak ?? 'ak1', 'x-ovh-timestamp': ts };
  if (opts.ck !== null) {
    const ck = opts.ck ?? 'ck1';
    headers['x-ovh-consumer'] = ck;
    headers['x-ovh-signature'] = ovhSignature({ applicationSecret: opts.as ?? 'as1', consumerKey: ck, method, url: `https://localhost${target}`, body, timestamp: ts });
  }
  return { method, rawTarget: target, apiPath: decodeURIComponent(target.slice(4).split('?')[0]), body, headers };
}

function refusal(req: ReturnType<typeof request>): { status: number; body: unknown } {
  try {
    authenticate(req, credentials, NOW);
  } catch (err) {
    if (err instanceof OvhHttpError) return { status: err.status, body: err.body };
    throw err;
  }
  throw new Error('accepted');
}

describe('authenticate', () => {
  it('accepts a well-signed request and returns its credential', () => {
    expect(authenticate(request({}), credentials, NOW)).toBe(good);
  });

  it.each([
    ['an unknown application key', { ak: 'nope' }, 403, { errorCode: 'INVALID_KEY', httpCode: '403 Forbidden', message: 'Invalid application key' }],
    ['an unknown consumer key', { ck: 'nope' }, 403, { errorCode: 'NOT_CREDENTIAL', httpCode: '403 Forbidden', message: 'This credential does not exist' }],
    ['a consumer key of another application', { ck: 'ck2' }, 403, { errorCode: 'NOT_CREDENTIAL', httpCode: '403 Forbidden', message: 'This credential does not exist' }],
    ['a wrong application secret', { as: 'wrong' }, 400, { errorCode: 'INVALID_SIGNATURE', httpCode: '400 Bad Request', message: 'Invalid signature' }],
    ['a credential not validated yet', { ck: 'ck-pending' }, 403, { errorCode: 'INVALID_CREDENTIAL', httpCode: '403 Forbidden', message: 'This credential is not valid' }],
    ['a call outside the access rules', { ak: 'ak2', as: 'as2', ck: 'ck2' }, 403, { errorCode: 'NOT_GRANTED_CALL', httpCode: '403 Forbidden', message: 'This call has not been granted' }],
    ['a timestamp ten minutes off', { ts: NOW - 600 }, 400, { errorCode: 'QUERY_TIME_OUT', httpCode: '400 Bad Request', message: 'Query out of time' }],
    ['no consumer key at all', { ck: null }, 401, { class: 'Client::Unauthorized', message: 'You must login first' }],
  ])('refuses %s', (_name, opts, status, body) => {
    expect(refusal(request(opts))).toEqual({ status, body });
  });

  it('lets a restricted credential make the calls it was granted', () => {
    expect(authenticate(request({ ak: 'ak2', as: 'as2', ck: 'ck2', method: 'GET', target: '/1.0/ip/203.0.113.10%2F32', body: '' }), credentials, NOW)).toBe(readOnly);
  });
});

describe('ovhConnection', () => {
  it.each([
    ['ovh-eu', { endpoint: 'ovh-eu' }],
    ['https://localhost:8443/1.0', { host: 'localhost', port: 8443, basePath: '/1.0' }],
    ['https://eu.api.ovh.com/1.0/', { host: 'eu.api.ovh.com', port: 443, basePath: '/1.0' }],
    ['https://127.0.0.1:9000', { host: '127.0.0.1', port: 9000, basePath: '/1.0' }],
  ])('%s', (endpoint, expected) => {
    expect(ovhConnection(endpoint)).toEqual(expected);
  });
});
