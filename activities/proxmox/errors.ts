// Proxmox failures, and what the activities do about each (pure; table-tested):
// - bad credentials (401, answered after ~3 s with an empty body) and missing privileges
//   (403): non-retryable ProxmoxAuthError, naming the server, node and token ID (never the
//   secret) and what to check — for a 403 the privilege and path (./privileges.ts);
// - parameter errors (400 "Parameter verification failed." with an `errors` map):
//   non-retryable ProxmoxBadRequest carrying the map;
// - TLS verification or pinning failures: non-retryable ProxmoxTlsError;
// - runtime conflicts (500 "VM 101 already running", "... already exists ...") are
//   recognised by `runtimeConflict` so activities treat "already done" as success;
// - other 5xx, 429, timeouts and resets: retryable.
import { ApplicationFailure } from '@temporalio/common';
import { missingPrivilege } from './privileges';

/** A non-200 answer from the Proxmox API. The message is Proxmox's reason phrase. */
export class ProxmoxHttpError extends Error {
  override readonly name = 'ProxmoxHttpError';
  constructor(
    readonly status: number,
    /** The HTTP reason phrase, which Proxmox uses for its error message. */
    readonly reason: string,
    readonly method: string,
    readonly path: string,
    /** Per-parameter messages of a 400. */
    readonly errors?: Record<string, string>,
  ) {
    super(`${method} ${path}: ${status} ${reason}`);
  }
}

/** No answer: connection refused or reset, or a timeout. */
export class ProxmoxNetworkError extends Error {
  override readonly name = 'ProxmoxNetworkError';
  constructor(
    readonly code: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: no answer (${code})`);
  }
}

/** The server's certificate was not the one configured (fingerprint) or not trusted (CA). */
export class ProxmoxTlsError extends Error {
  override readonly name = 'ProxmoxTlsError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A task (UPID) that ended with an exit status other than "OK". */
export class ProxmoxTaskError extends Error {
  override readonly name = 'ProxmoxTaskError';
  constructor(
    readonly upid: string,
    readonly type: string,
    readonly id: string,
    readonly exitstatus: string,
  ) {
    super(`task ${type} for VM ${id} failed: ${exitstatus}`);
  }
}

/** Where a call went, for error messages: names, never secrets. */
export interface ProxmoxTarget {
  server: string;
  node: string;
  url: string;
  tokenId: string;
  /** The spec's secret reference (env:NAME / file:/path), not its value. */
  tokenSecretRef: string;
}

export type RuntimeConflict =
  | 'alreadyExists'
  | 'alreadyRunning'
  | 'notRunning'
  | 'isRunning'
  | 'doesNotExist'
  | 'locked'
  | 'agentNotRunning'
  | 'agentVmNotRunning'
  | 'agentNotConfigured';

const CONFLICTS: [RegExp, RuntimeConflict][] = [
  [/already exists/i, 'alreadyExists'],
  [/already running/i, 'alreadyRunning'],
  [/is running - destroy failed/i, 'isRunning'],
  [/guest agent is not running/i, 'agentNotRunning'],
  [/no qemu guest agent configured/i, 'agentNotConfigured'],
  [/^VM \d+ is not running/i, 'agentVmNotRunning'],
  [/^VM \d+ not running/i, 'notRunning'],
  [/Configuration file '[^']*' does not exist/i, 'doesNotExist'],
  [/is locked \(/i, 'locked'],
];

/** Recognises the runtime failures an idempotent activity turns into "already done" (or "look again"). */
export function runtimeConflict(errOrMessage: unknown): RuntimeConflict | undefined {
  let message: string;
  if (typeof errOrMessage === 'string') message = errOrMessage;
  else if (errOrMessage instanceof ProxmoxHttpError && errOrMessage.status === 500) message = errOrMessage.reason;
  else if (errOrMessage instanceof ProxmoxTaskError) message = errOrMessage.exitstatus;
  else return undefined;
  return CONFLICTS.find(([re]) => re.test(message.trim()))?.[1];
}

/** 500s that retrying cannot fix: the node lacks what the spec names. */
const PERMANENT_RUNTIME: RegExp[] = [/storage '[^']+' does not exist/i, /bridge '[^']+' does not exist/i, /no such cluster node/i, /hostname lookup '[^']+' failed/i, /can't start a vm if it's a template/i, /volume '?[^'\s]+'? does not exist/i];

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_|FINGERPRINT_MISMATCH)/;

export function isTlsErrorCode(code: string | undefined): boolean {
  return code !== undefined && TLS_CODES.test(code);
}

function where(t: ProxmoxTarget): string {
  return `Proxmox node ${t.node} of server ${t.server} (${t.url})`;
}

/**
 * Turns any failure of a Proxmox call into what the activity throws: a non-retryable
 * ApplicationFailure when retrying cannot help, a retryable one otherwise. Messages say
 * what to do next and never contain the token secret.
 */
export function classifyProxmoxError(err: unknown, t: ProxmoxTarget): Error {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ProxmoxHttpError) {
    const call = `${err.method} ${err.path}`;
    if (err.status === 401) {
      return ApplicationFailure.nonRetryable(
        `${where(t)} rejected API token ${t.tokenId} (401 ${err.reason}) on ${call}. Check that the token exists on that node (pveum user token list), ` +
          `has not expired, and that ${t.tokenSecretRef} holds its secret UUID (the part after "=" that pveum printed once).`,
        'ProxmoxAuthError',
        { server: t.server, node: t.node, tokenId: t.tokenId, status: 401 },
      );
    }
    if (err.status === 403) {
      return ApplicationFailure.nonRetryable(
        `${where(t)}: API token ${t.tokenId} lacks ${missingPrivilege(err.reason, err.method, err.path)} (403 ${err.reason} on ${call}). ` +
          'Add it to the role of the token’s user on that path (pveum role modify AutoK8s -privs "..." replaces the list; pveum acl modify <path> ...); docs/production.md lists what autok8s needs.',
        'ProxmoxAuthError',
        { server: t.server, node: t.node, tokenId: t.tokenId, status: 403 },
      );
    }
    if (err.status === 400) {
      const fields = Object.entries(err.errors ?? {}).map(([k, v]) => `${k}: ${v.trim()}`);
      return ApplicationFailure.nonRetryable(
        `${where(t)} refused ${call}: ${err.reason}${fields.length ? ` (${fields.join('; ')})` : ''}. ` +
          'The request does not match what this Proxmox version accepts: check the spec values it names, and the Proxmox VE version (autok8s targets 8.x).',
        'ProxmoxBadRequest',
        { server: t.server, node: t.node, status: 400, errors: err.errors ?? {} },
      );
    }
    if (err.status === 404 || err.status === 501) {
      return ApplicationFailure.nonRetryable(
        `${where(t)} does not know ${call} (${err.status} ${err.reason}); check that servers[].proxmox.url points at a Proxmox VE 8 API and that node ${t.node} is its node name.`,
        'ProxmoxNotFound',
        { server: t.server, node: t.node, status: err.status },
      );
    }
    if (err.status === 500 && PERMANENT_RUNTIME.some((re) => re.test(err.reason))) {
      return ApplicationFailure.nonRetryable(
        `${where(t)} cannot do ${call}: ${err.reason}. The node lacks what the spec names: fix servers[].proxmox (storage, bridge, node) or the node itself.`,
        'ProxmoxSetupError',
        { server: t.server, node: t.node, status: 500 },
      );
    }
    return ApplicationFailure.retryable(`${where(t)} answered ${err.status} ${err.reason} to ${call}; will retry.`, 'ProxmoxUnavailable', {
      server: t.server,
      node: t.node,
      status: err.status,
    });
  }
  if (err instanceof ProxmoxTaskError) {
    const permanent = PERMANENT_RUNTIME.some((re) => re.test(err.exitstatus));
    const message = `${where(t)}: task ${err.type} for VM ${err.id} ended with "${err.exitstatus}" (${err.upid}).` + (permanent ? ' Fix the node or the spec; retrying will not help.' : '');
    const details = { server: t.server, node: t.node, upid: err.upid, exitstatus: err.exitstatus };
    return permanent ? ApplicationFailure.nonRetryable(message, 'ProxmoxTaskFailed', details) : ApplicationFailure.retryable(message, 'ProxmoxTaskFailed', details);
  }
  if (err instanceof ProxmoxTlsError) {
    return ApplicationFailure.nonRetryable(`${where(t)}: ${err.message}`, 'ProxmoxTlsError', { server: t.server, node: t.node, code: err.code });
  }
  if (err instanceof ProxmoxNetworkError) {
    return ApplicationFailure.retryable(`${where(t)} did not answer ${err.method} ${err.path} (${err.code}); will retry.`, 'ProxmoxUnreachable', {
      server: t.server,
      node: t.node,
      code: err.code,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}
