// API token authentication as a Proxmox node checks it:
//   Authorization: PVEAPIToken=<user>@<realm>!<tokenid>=<secret uuid>
// Token requests need no CSRF token. The ticket flow (cookie + CSRFPreventionToken) is not
// simulated: a request without a token header is answered 401 as a missing ticket.
import { timingSafeEqual } from 'node:crypto';
import { PveHttpError } from './envelope';
import { PVE_MESSAGES } from './messages';

export interface ProxmoxToken {
  /** user@realm!tokenid, e.g. root@pam!autok8s */
  tokenId: string;
  /** Lowercase UUID, as `pveum user token add` prints it. */
  secret: string;
}

export const TOKEN_ID_RE = /^[^@!\s=]+@[^@!\s=]+![A-Za-z][A-Za-z0-9._-]*$/;
export const TOKEN_SECRET_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEADER_RE = /^PVEAPIToken=([^=\s]+)=(\S+)$/;

export function validateTokens(tokens: ProxmoxToken[]): void {
  for (const t of tokens) {
    if (!TOKEN_ID_RE.test(t.tokenId)) throw new Error(`proxmox simulator: token ID ${JSON.stringify(t.tokenId)} is not user@realm!tokenid`);
    if (!TOKEN_SECRET_RE.test(t.secret)) throw new Error(`proxmox simulator: the secret of ${t.tokenId} is not a lowercase UUID`);
  }
}

/** Returns the authenticated token ID (the UPID user), or throws the 401 Proxmox answers. */
export function authenticate(header: string | undefined, tokens: ProxmoxToken[]): string {
  if (!header) throw new PveHttpError(401, PVE_MESSAGES.noTicket);
  const m = HEADER_RE.exec(header.trim());
  if (!m) throw new PveHttpError(401, PVE_MESSAGES.authenticationFailure);
  const [, tokenId, secret] = m;
  const token = tokens.find((t) => t.tokenId === tokenId);
  if (!token || !sameText(token.secret, secret)) throw new PveHttpError(401, PVE_MESSAGES.authenticationFailure);
  return tokenId;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
