// Which haproxy.cfg a running HAProxy loaded, asked over HTTP. A HAProxy reload whose new file
// cannot bind a listener exits 0 and leaves the old workers serving the old file (seen with
// Debian 12's haproxy 2.6: docs/contracts.md §D.3), so neither the reload's exit status nor
// /healthz tells a push that the new file is live. Each rendered file answers
// GET /autok8s/config on its health frontend with its own identity: a hash of the file with
// the identity itself blanked out, so the file can carry it. The push's probe expects the
// pushed file's identity; an old process answers with the old one. Pure: workflows render it.
import { sha256Hex } from './sha256';

export const HAPROXY_CONFIG_PATH = '/autok8s/config';

const PLACEHOLDER = '0000000000000000';
const LINE = (identity: string) => `  http-request return status 200 content-type text/plain string "autok8s-config ${identity}" if { path ${HAPROXY_CONFIG_PATH} }`;
const LINE_PATTERN = /^ {2}http-request return status 200 content-type text\/plain string "autok8s-config ([0-9a-f]{16})" if \{ path \/autok8s\/config \}$/m;

/** The line that goes into the health frontend, with a placeholder until `stampHaproxyIdentity`. */
export const HAPROXY_IDENTITY_LINE = LINE(PLACEHOLDER);

/** Replaces the placeholder with the hash of the file as it reads with the placeholder. */
export function stampHaproxyIdentity(cfg: string): string {
  if (!cfg.includes(HAPROXY_IDENTITY_LINE)) throw new Error('haproxy.cfg has no identity line to stamp');
  return cfg.replace(HAPROXY_IDENTITY_LINE, LINE(identityOf(cfg)));
}

/** The identity a file claims (undefined without an identity line). */
export function claimedHaproxyIdentity(cfg: string): string | undefined {
  return LINE_PATTERN.exec(cfg)?.[1];
}

/** The identity a file really has: its claim is true only when it equals this. */
export function haproxyIdentity(cfg: string): string | undefined {
  const claimed = claimedHaproxyIdentity(cfg);
  return claimed === undefined ? undefined : identityOf(cfg.replace(LINE(claimed), HAPROXY_IDENTITY_LINE));
}

/** What GET /autok8s/config answers for a file with this identity. */
export function haproxyIdentityAnswer(identity: string): string {
  return `autok8s-config ${identity}`;
}

function identityOf(cfgWithPlaceholder: string): string {
  return sha256Hex(cfgWithPlaceholder).slice(0, 16);
}
