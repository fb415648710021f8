// The Temporal server's own count of billable actions: the `action` counter on the dev
// server's Prometheus endpoint (`--metrics-port`), one series per action type
// (`action_type="grpc_StartWorkflowExecution"`, `"command_ScheduleActivityTask"`, …) and
// namespace. The same counter Temporal Cloud's metering starts from; read before and after an
// operation, its difference is what the operation cost.

/** Action counts by `action_type`, summed over the other labels, for one namespace. */
export type ActionCounts = Record<string, number>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of (text ?? '').matchAll(LABEL)) labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return labels;
}

/**
 * The samples of counter `metric` in Prometheus text exposition, for `namespace`, summed by
 * action type. Comment lines, other metrics and other namespaces are ignored.
 */
export function parseActionCounts(exposition: string, namespace: string, metric = 'action'): ActionCounts {
  const counts: ActionCounts = {};
  for (const line of exposition.split('\n')) {
    const m = SAMPLE.exec(line.trim());
    if (!m || m[1] !== metric) continue;
    const labels = labelsOf(m[2]);
    if (labels.namespace !== namespace) continue;
    const type = labels.action_type ?? '(no action_type)';
    counts[type] = (counts[type] ?? 0) + Number(m[3]);
  }
  return counts;
}

/** What was counted between two readings, by type (types that did not move are left out). */
export function actionDelta(before: ActionCounts, after: ActionCounts): ActionCounts {
  const delta: ActionCounts = {};
  for (const [type, n] of Object.entries(after)) {
    const d = n - (before[type] ?? 0);
    if (d !== 0) delta[type] = d;
  }
  return delta;
}

export const totalActions = (counts: ActionCounts): number => Object.values(counts).reduce((s, n) => s + n, 0);

/** Reads the `action` counter from a metrics endpoint (http://127.0.0.1:PORT/metrics). */
export async function scrapeActions(metricsUrl: string, namespace: string): Promise<ActionCounts> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`GET ${metricsUrl}: HTTP ${res.status}`);
  return parseActionCounts(await res.text(), namespace);
}
