// Probing an LB VM's health endpoint (HAProxy's monitor-uri) before routing traffic to it.
// A failed probe is an answer ("unhealthy"), not an activity failure, so the decision
// function sees every LB's state in one pass, and all of a cluster's LBs can be probed in one
// activity (each activity scheduled is a billable Temporal action).
import { lbHealthUrl } from '../../core/lb-endpoints';
import type { LbProbe } from '../../core/policies/failover-target';
import type { ServerSpec } from '../../core/spec/schema';

export async function probeLbHealth(server: ServerSpec, timeoutMs = 2000): Promise<LbProbe> {
  const url = lbHealthUrl(server);
  const started = Date.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.arrayBuffer();
    const ms = Date.now() - started;
    return response.ok
      ? { server: server.name, healthy: true, detail: `${url} answered ${response.status} in ${ms} ms` }
      : { server: server.name, healthy: false, detail: `${url} answered ${response.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { server: server.name, healthy: false, detail: `${url} unreachable (${cause})` };
  }
}

/** Every server's LB probed at once, in the servers' order: one answer each, never a failure. */
export function probeLbsHealth(servers: readonly ServerSpec[], timeoutMs = 2000): Promise<LbProbe[]> {
  return Promise.all(servers.map((server) => probeLbHealth(server, timeoutMs)));
}
