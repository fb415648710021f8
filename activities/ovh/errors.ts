// What an `ovh` client rejection means for a Temporal activity. Pure and table-tested.
//
// The client rejects requestPromised with { error, message }: `error` is the HTTP status
// and `message` OVH's body.message; on a network failure `error` is the errno (a negative
// number) or the Error itself (a timeout aborts the request: Error code ECONNRESET); a
// body that is not JSON, or a failed /auth/time, rejects with a string
// (node_modules/ovh/lib/ovh.es6.js).
//
//   400 / 401 / 403 / 404 and other 4xx  → non-retryable, OVH's message and the call
//   409, 429, 5xx, network, non-JSON     → retryable (OvhTransient)
import { getSystemErrorName } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';

export type OvhFailureType = 'OvhAuthError' | 'OvhNotFound' | 'OvhBadRequest' | 'OvhTransient';

export interface OvhCallRef {
  method: string;
  path: string;
}

export interface ClassifyOptions extends OvhCallRef {
  /** Resolved secret values to scrub from messages, should the API ever echo one. */
  secrets?: readonly string[];
}

/** The first detail of every failure this module makes (JSON, no secrets). */
export interface OvhFailureDetails {
  status: number | null;
  method: string;
  path: string;
  ovhMessage: string | null;
}

/** Auth failures OVH reports as 400 rather than 401/403. */
const AUTH_400 = /signature|out of time/i;

/** What to do about an authentication refusal, keyed on OVH's message. */
function authHint(message: string): string {
  if (/signature/i.test(message)) return 'check that spec.ovh.applicationSecret and consumerKey point to the secret and consumer key of this application key';
  if (/out of time/i.test(message)) return "check the worker's clock (NTP)";
  if (/application key/i.test(message)) return 'check spec.ovh.applicationKey and spec.ovh.endpoint (keys are per API region)';
  if (/credential does not exist/i.test(message)) return 'create a consumer key for this application (POST /auth/credential) and point spec.ovh.consumerKey to it';
  if (/credential is not valid|login/i.test(message)) return 'the consumer key is not validated or has expired: validate it or create a new one';
  if (/not been granted/i.test(message)) return "add this call to the consumer key's access rules";
  return 'check the credentials spec.ovh points to';
}

function describeCall(call: OvhCallRef): string {
  let path = call.path;
  try {
    path = decodeURIComponent(call.path);
  } catch {
    // keep the raw path
  }
  return `${call.method.toUpperCase()} ${path}`;
}

function scrub(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

function failure(type: OvhFailureType, nonRetryable: boolean, message: string, details: OvhFailureDetails, secrets?: readonly string[]): ApplicationFailure {
  const clean = { ...details, ovhMessage: details.ovhMessage === null ? null : scrub(details.ovhMessage, secrets) };
  return ApplicationFailure.create({ message: scrub(message, secrets), type, nonRetryable, details: [clean] });
}

/** Classifies anything an OVH call threw. ApplicationFailures (e.g. a missing secret) pass through unchanged. */
export function classifyOvhError(err: unknown, options: ClassifyOptions): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const call = describeCall(options);
  const base = { method: options.method.toUpperCase(), path: options.path };
  const rejection = typeof err === 'object' && err !== null && 'error' in err ? (err as { error: unknown; message?: unknown }) : undefined;
  const cause = rejection ? rejection.error : err;

  if (typeof cause === 'number' && cause >= 100 && cause < 600) {
    const status = cause;
    const ovhMessage = typeof rejection?.message === 'string' && rejection.message !== '' ? rejection.message : null;
    const said = ovhMessage ?? 'no message';
    const details = { ...base, status, ovhMessage };
    if (status === 401 || status === 403 || (status === 400 && AUTH_400.test(said))) {
      return failure('OvhAuthError', true, `OVH API refused ${call} (${status}): ${said}; ${authHint(said)}`, details, options.secrets);
    }
    if (status === 404) {
      return failure('OvhNotFound', true, `OVH API ${call} (404): ${said}; check that the IP or service name in the spec belongs to this OVH account`, details, options.secrets);
    }
    if (status === 409 || status === 429 || status >= 500) {
      return failure('OvhTransient', false, `OVH API ${call} answered ${status}: ${said}; retrying`, details, options.secrets);
    }
    if (status >= 400) {
      return failure('OvhBadRequest', true, `OVH API refused ${call} (${status}): ${said}`, details, options.secrets);
    }
    return failure('OvhTransient', false, `OVH API ${call} answered an unexpected ${status}: ${said}; retrying`, details, options.secrets);
  }

  // Network failures and answers that are not JSON: a proxy error page, a cut connection, a timeout.
  const what = networkDescription(cause);
  return failure('OvhTransient', false, `OVH API ${call} failed: ${what}; retrying`, { ...base, status: null, ovhMessage: null }, options.secrets);
}

function networkDescription(cause: unknown): string {
  if (typeof cause === 'number') {
    try {
      return `network error ${getSystemErrorName(cause)}`;
    } catch {
      return `network error ${cause}`;
    }
  }
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `network error ${code} (${cause.message})` : cause.message;
  }
  return `unexpected error ${String(cause)}`;
}

/** The HTTP status an OVH failure carries (null for network errors and other failures). */
export function ovhStatusOf(err: unknown): number | null {
  if (!(err instanceof ApplicationFailure)) return null;
  const d = err.details?.[0] as Partial<OvhFailureDetails> | undefined;
  return typeof d?.status === 'number' ? d.status : null;
}
