// What a failed talosctl run means, from its exit code and stderr. talosctl exits 1 for
// every error and prints a Go error chain, e.g.
//
//   error executing bootstrap: 1 error occurred:
//   	* 10.10.0.61: rpc error: code = AlreadyExists desc = etcd data directory is not empty
//
// so the gRPC code and a few well-known transport messages are what tell failures apart.
// Order matters: a TLS failure is reported with code Unavailable too, and must not be
// mistaken for a node that is merely down.

export type TalosFailureKind =
  /** The node does not answer (VM down, booting, rebooting, network): try again later. */
  | 'unreachable'
  /** The call itself ran out of time (our timeout or a gRPC deadline). */
  | 'timeout'
  /** `bootstrap` on a node whose etcd already has data: the cluster is bootstrapped. */
  | 'alreadyExists'
  /** `apply-config --insecure` on a configured node: the maintenance API is gone. */
  | 'notInMaintenance'
  /** The node does not trust our talosconfig: another cluster's node, or still in maintenance mode. */
  | 'untrusted'
  /** etcd cannot answer right now (not started yet, no leader, deadline). */
  | 'etcdUnavailable'
  /** etcd refused a membership change that would cost quorum. */
  | 'quorumRefused'
  /** The object named does not exist (e.g. an etcd member already removed). */
  | 'notFound'
  /** The node is up but not ready for this call yet (bootstrap not available yet, time not in sync). */
  | 'notReady'
  /** talosctl or the node rejected the request itself: a bug or bad input, retrying cannot help. */
  | 'badRequest'
  | 'unknown';

export interface TalosFailure {
  kind: TalosFailureKind;
  retryable: boolean;
  /** The most telling line of stderr, for messages (talosctl never prints secrets in errors). */
  summary: string;
}

export interface TalosctlOutcome {
  exitCode: number | null;
  stderr: string;
  /** True when our own timeout killed the process. */
  timedOut?: boolean;
}

const rules: { kind: TalosFailureKind; retryable: boolean; pattern: RegExp }[] = [
  { kind: 'notInMaintenance', retryable: false, pattern: /tls: certificate required/ },
  {
    kind: 'untrusted',
    retryable: false,
    pattern: /x509:|certificate signed by unknown authority|tls: failed to verify certificate|authentication handshake failed|code = (PermissionDenied|Unauthenticated)/,
  },
  { kind: 'alreadyExists', retryable: false, pattern: /code = AlreadyExists/ },
  { kind: 'quorumRefused', retryable: false, pattern: /not enough started members|would lose quorum/ },
  { kind: 'notFound', retryable: false, pattern: /code = NotFound|member not found/ },
  { kind: 'etcdUnavailable', retryable: true, pattern: /etcdserver: (no leader|request timed out|leader changed)|etcd is not (running|ready)/ },
  {
    kind: 'unreachable',
    retryable: true,
    pattern: /connection refused|no route to host|host is unreachable|network is unreachable|i\/o timeout|connection reset|broken pipe|error reading server preface: EOF|code = Unavailable/,
  },
  { kind: 'timeout', retryable: true, pattern: /context deadline exceeded|code = DeadlineExceeded/ },
  { kind: 'notReady', retryable: true, pattern: /code = FailedPrecondition|is not available yet|not in sync yet/ },
  {
    kind: 'badRequest',
    retryable: false,
    pattern: /unknown flag|unknown command|unknown shorthand flag|accepts \d+ arg|requires at least|invalid argument|code = (InvalidArgument|Unimplemented)|failed to determine endpoints|already exists, use --force/,
  },
];

function summaryOf(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // The innermost cause (the "* node: rpc error" line) says most; fall back to the first line.
  const detail = lines.find((l) => l.startsWith('* ')) ?? lines.find((l) => /rpc error|error/i.test(l)) ?? lines[0] ?? '';
  return detail.replace(/^\* /, '').slice(0, 400);
}

export function classifyTalosctlFailure(outcome: TalosctlOutcome): TalosFailure {
  const summary = summaryOf(outcome.stderr);
  if (outcome.timedOut) return { kind: 'timeout', retryable: true, summary: summary || 'talosctl did not finish in time' };
  for (const rule of rules) {
    if (rule.pattern.test(outcome.stderr)) return { kind: rule.kind, retryable: rule.retryable, summary };
  }
  // An unexplained failure is assumed transient: the activity's retry policy bounds it.
  return { kind: 'unknown', retryable: true, summary: summary || `talosctl exited with code ${outcome.exitCode}` };
}

/**
 * talosctl 1.8 reports a node's error for some commands (`etcd members`, `version`) as a
 * warning and still exits 0, because the API proxy folds per-node errors into the reply:
 *
 *   WARNING: 1 error occurred:
 *   	* 10.10.0.61: rpc error: code = Unknown desc = context deadline exceeded
 *
 * Returns that warning when present, so a caller treats the run as failed.
 */
export function nodeErrorWarning(stderr: string): string | undefined {
  const at = stderr.search(/^WARNING: \d+ errors? occurred:/m);
  return at < 0 ? undefined : stderr.slice(at);
}
