// OVH request signing, as the API verifies it (docs/contracts.md §A.1). Pure functions, shared by
// the simulator (verification) and the unit tests (worked example).
//
//   X-Ovh-Signature = "$1$" + sha1_hex(AS + "+" + CK + "+" + METHOD + "+" + URL + "+" + BODY + "+" + TS)
//
// URL is what the `ovh` npm client signs: "https://" + options.host + options.path, where
// options.path is basePath + path [+ "?" + query] exactly as sent on the wire and
// options.host never carries the port (node_modules/ovh/lib/ovh.es6.js, request()).
import { createHash, timingSafeEqual } from 'node:crypto';

export interface SignatureInput {
  applicationSecret: string;
  consumerKey: string;
  /** HTTP method, upper case. */
  method: string;
  /** The signed URL: https://<host without port><basePath><path>[?query]. */
  url: string;
  /** The exact body text sent; "" when there is none. */
  body: string;
  /** The X-Ovh-Timestamp header value, as a string. */
  timestamp: string;
}

export function ovhSignature(input: SignatureInput): string {
  const text = [input.applicationSecret, input.consumerKey, input.method, input.url, input.body, input.timestamp].join('+');
  return '$1$' + createHash('sha1').update(text).digest('hex');
}

/** The URL a request was signed with, from its Host header (port dropped) and its raw request target. */
export function signedUrl(hostHeader: string, rawRequestTarget: string): string {
  return 'https://' + hostWithoutPort(hostHeader) + rawRequestTarget;
}

function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1); // [::1]:8443
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** Constant-time comparison of a received signature with the expected one. */
export function signatureMatches(received: string, expected: string): boolean {
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
