// API token authentication and privileges as a Proxmox node checks them:
//   Authorization: PVEAPIToken=<user>@<realm>!<tokenid>=<secret uuid>
// Token requests need no CSRF token. The ticket flow (cookie + CSRFPreventionToken) is not
// simulated. Wordings (docs/contracts.md §B.2): pve-manager PVE/HTTPServer.pm auth_handler
// dies "No ticket" when the request carries neither a ticket nor a PVEAPIToken value, and
// "Authentication failed!" when verify_token refuses the token (unknown, expired, wrong
// secret); pve-http-server answers either as a 401 with an empty body after 3 s (the
// server side of that lives in ./simulator.ts).
import { timingSafeEqual } from 'node:crypto';
import { PveHttpError } from './envelope';
import { PVE_MESSAGES } from './messages';

/**
 * The privileges a token holds, by ACL path ('/vms', '/storage/local-lvm', '/sdn/zones/
 * localnetwork/vmbr1', ...). An entry applies to its path and everything below it (Proxmox's
 * default `propagate=1`); the deepest path with an entry decides, as in
 * PVE::AccessControl::permission.
 */
export type TokenAcl = Record<string, readonly string[]>;

export interface ProxmoxToken {
  /** user@realm!tokenid, e.g. root@pam!autok8s */
  tokenId: string;
  /** Lowercase UUID, as `pveum user token add` prints it. */
  secret: string;
  /**
   * Its privileges. Without: every privilege (a root@pam token created with `--privsep 0`
   * has root's); with: exactly these, as a privilege-separated token with ACL entries.
   */
  acl?: TokenAcl;
}

export const TOKEN_ID_RE = /^[^@!\s=]+@[^@!\s=]+![A-Za-z][A-Za-z0-9._-]*$/;
export const TOKEN_SECRET_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** pve-http-server Formatter::extract_auth_value: the value after `PVEAPIToken=` up to a `;`. */
const TOKEN_VALUE_RE = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/;

export function validateTokens(tokens: ProxmoxToken[]): void {
  for (const t of tokens) {
    if (!TOKEN_ID_RE.test(t.tokenId)) throw new Error(`proxmox simulator: token ID ${JSON.stringify(t.tokenId)} is not user@realm!tokenid`);
    if (!TOKEN_SECRET_RE.test(t.secret)) throw new Error(`proxmox simulator: the secret of ${t.tokenId} is not a lowercase UUID`);
    for (const path of Object.keys(t.acl ?? {})) if (!/^\/[\w./-]*$/.test(path)) throw new Error(`proxmox simulator: ACL path ${JSON.stringify(path)} of ${t.tokenId} is not an absolute path`);
  }
}

/** Returns the authenticated token, or throws the 401 Proxmox answers. */
export function authenticate(header: string | undefined, tokens: ProxmoxToken[]): ProxmoxToken {
  const value = header ? TOKEN_VALUE_RE.exec(header)?.[1] : undefined;
  if (!value) throw new PveHttpError(401, PVE_MESSAGES.noTicket);
  // PVE::AccessControl::verify_token: `^(.*)=(.*)$`, so the token ID ends at the last "=".
  const m = /^(.*)=(.*)$/.exec(value);
  const token = m ? tokens.find((t) => t.tokenId === m[1]) : undefined;
  if (!m || !token || !sameText(token.secret, m[2])) throw new PveHttpError(401, PVE_MESSAGES.authenticationFailure);
  return token;
}

/** The privileges `token` holds on `path` (PVE::RPCEnvironment::permissions). */
export function privilegesOn(token: ProxmoxToken, path: string): ReadonlySet<string> | 'all' {
  if (!token.acl) return 'all';
  let best: string | undefined;
  for (const aclPath of Object.keys(token.acl)) {
    const covers = aclPath === '/' || path === aclPath || path.startsWith(aclPath.replace(/\/$/, '') + '/');
    if (covers && (best === undefined || aclPath.length > best.length)) best = aclPath;
  }
  return new Set(best === undefined ? [] : token.acl[best]);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
