// classifyOvhError: what each kind of `ovh` client rejection means for a Temporal retry.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyOvhError, ovhStatusOf } from '../../activities/ovh/errors';

const call = { method: 'POST', path: '/ip/203.0.113.10%2F32/move' };
const socketHangUp = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('classifyOvhError', () => {
  it.each([
    // [case, rejection, type, nonRetryable, text the message must contain]
    ['a wrong application secret is an auth error', { error: 400, message: 'Invalid signature' }, 'OvhAuthError', true, 'Invalid signature'],
    ['a clock far off is an auth error', { error: 400, message: 'Query out of time' }, 'OvhAuthError', true, 'clock'],
    ['an unknown application key is an auth error', { error: 403, message: 'Invalid application key' }, 'OvhAuthError', true, 'Invalid application key'],
    ['an unknown consumer key is an auth error', { error: 403, message: 'This credential does not exist' }, 'OvhAuthError', true, 'This credential does not exist'],
    ['an expired consumer key is an auth error', { error: 403, message: 'This credential is not valid' }, 'OvhAuthError', true, 'validate it'],
    ['a call outside the access rules is an auth error', { error: 403, message: 'This call has not been granted' }, 'OvhAuthError', true, 'access rules'],
    ['a missing consumer key is an auth error', { error: 401, message: 'You must login first' }, 'OvhAuthError', true, 'You must login first'],
    ['an unknown IP is not found', { error: 404, message: 'The requested object (ip = 203.0.113.99/32) does not exist' }, 'OvhNotFound', true, 'ip = 203.0.113.99/32'],
    ['a bad parameter is a bad request', { error: 400, message: 'Invalid destination' }, 'OvhBadRequest', true, 'Invalid destination'],
    ['another 4xx is a bad request', { error: 422, message: 'Unprocessable' }, 'OvhBadRequest', true, '422'],
    ['a conflict is retried', { error: 409, message: 'A move is already in progress' }, 'OvhTransient', false, 'A move is already in progress'],
    ['rate limiting is retried', { error: 429, message: 'Too Many Requests' }, 'OvhTransient', false, '429'],
    ['a server error is retried', { error: 500, message: 'Internal server error' }, 'OvhTransient', false, '500'],
    ['a 503 without a body is retried', { error: 503, message: null }, 'OvhTransient', false, 'no message'],
    ['a connection reset (errno) is retried', { error: -104 }, 'OvhTransient', false, 'ECONNRESET'],
    ['a refused connection (errno) is retried', { error: -111 }, 'OvhTransient', false, 'ECONNREFUSED'],
    ['a timeout (the client aborts: socket hang up) is retried', { error: socketHangUp }, 'OvhTransient', false, 'ECONNRESET'],
    ['a body that is not JSON is retried', { error: '[OVH] Unable to parse JSON reponse' }, 'OvhTransient', false, 'Unable to parse JSON'],
    ['a failed /auth/time is retried', { error: '[OVH] Unable to fetch OVH API time' }, 'OvhTransient', false, 'API time'],
    ['a bare Error is retried', new Error('boom'), 'OvhTransient', false, 'boom'],
  ])('%s', (_name, rejection, type, nonRetryable, text) => {
    const failure = classifyOvhError(rejection, call);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(nonRetryable);
    expect(failure.message).toContain(text);
    expect(failure.message).toContain('POST /ip/203.0.113.10/32/move'); // the call, decoded for humans
  });

  it('keeps the HTTP status in the details, null for network errors', () => {
    expect(ovhStatusOf(classifyOvhError({ error: 409, message: 'x' }, call))).toBe(409);
    expect(ovhStatusOf(classifyOvhError({ error: -104 }, call))).toBeNull();
    expect(ovhStatusOf(new Error('not a failure'))).toBeNull();
  });

  it('passes ApplicationFailures (a missing secret) through unchanged', () => {
    const missing = ApplicationFailure.nonRetryable('secret env:X: not set', 'SecretMissing');
    expect(classifyOvhError(missing, call)).toBe(missing);
  });

  it('scrubs resolved secrets from the message and details', () => {
    const secret = 'EgWIz07P0HYwtQDs';
    const failure = classifyOvhError({ error: 400, message: `bad value ${secret}` }, { ...call, secrets: [secret] });
    expect(failure.message).not.toContain(secret);
    expect(JSON.stringify(failure.details)).not.toContain(secret);
    expect(failure.message).toContain('bad value ***');
  });
});
