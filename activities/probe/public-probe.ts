// Does the failover IP serve traffic as the public side sees it? GETs the spec's
// publicPath.probeUrl for the IP (core/public-path/probe-url.ts) until it answers or the bound
// runs out, heartbeating between tries and stopping at once when the activity is cancelled.
// "Not served" is an answer, not a failure: the workflow decides what it means.
//
// Any HTTP answer counts as served: it proves OVH's routing, the LB VM's public NIC and HAProxy
// all carried the request (HAProxy's :80 frontend is plain TCP to the ingress, so the status is
// the ingress's). A refused, reset or timed-out connection is not served.
import { publicProbeUrl, SERVED_BY_HEADER } from '../../core/public-path/probe-url';
import type { ClusterSpec } from '../../core/spec/schema';
import { cancellationSignal, heartbeat, pause } from '../activity-context';

export interface PublicProbeResult {
  served: boolean;
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  /** The server that answered, when the public side says (the sandbox's gateway does). */
  servedBy?: string;
  /** What happened, for the step log: the URL, the answer or the last error, the tries. */
  detail: string;
  tries: number;
}

export interface PublicProbeOptions {
  /** Keep trying until served or this long has passed (0: one try). Default 0. */
  untilServedMs?: number;
  /** Pause between tries. Default 500 ms. */
  intervalMs?: number;
  /** One try's timeout. Default 3 s. */
  tryTimeoutMs?: number;
}

async function tryOnce(url: string, timeoutMs: number): Promise<{ served: true; status: number; servedBy?: string } | { served: false; error: string }> {
  const signals = [AbortSignal.timeout(timeoutMs), cancellationSignal()].filter((s): s is AbortSignal => s !== undefined);
  try {
    const response = await fetch(url, { signal: AbortSignal.any(signals), redirect: 'manual' });
    await response.arrayBuffer();
    return { served: true, status: response.status, servedBy: response.headers.get(SERVED_BY_HEADER) ?? undefined };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? cause?.message ?? (err as Error).name;
    // undici's name for a connection closed before any answer: what an unroutable IP looks like.
    return { served: false, error: code === 'UND_ERR_SOCKET' ? 'closed without an answer' : code };
  }
}

export async function probePublicIp(spec: ClusterSpec, ip: string, options: PublicProbeOptions = {}): Promise<PublicProbeResult> {
  const url = publicProbeUrl(spec, ip);
  if (url === undefined) return { served: false, detail: 'no publicPath.probeUrl: serving not verified', tries: 0 };
  const until = Date.now() + (options.untilServedMs ?? 0);
  const interval = options.intervalMs ?? 500;
  const tryTimeout = options.tryTimeoutMs ?? 3000;
  for (let tries = 1; ; tries++) {
    const r = await tryOnce(url, tryTimeout);
    if (r.served) {
      return { served: true, status: r.status, servedBy: r.servedBy, detail: `${url} answered ${r.status}${r.servedBy ? ` from ${r.servedBy}` : ''} (try ${tries})`, tries };
    }
    const cancelled = cancellationSignal();
    if (cancelled?.aborted) throw cancelled.reason;
    if (Date.now() + interval >= until) {
      return { served: false, detail: `${url} did not answer (${r.error}) after ${tries} ${tries === 1 ? 'try' : 'tries'}`, tries };
    }
    heartbeat({ url, tries, lastError: r.error });
    await pause(interval); // a cancelled activity ends here with a CancelledFailure
  }
}
