// Checking a service after a config reload: an HTTP or TCP probe from the worker (what
// clients see), or a command on the target. Retried a bounded number of times, because a
// reloaded HAProxy or Nginx takes a moment to bind; every attempt is reported (the push
// heartbeats with it) and a cancellation ends the loop at once. A failed probe is an
// answer, returned with what was seen, so the push can roll back and say why.
import { connect } from 'node:net';
import type { PushProbe } from '../../core/render/lb-files';
import { sleep } from '../activity-context';
import { throwIfAborted } from './host-lock';
import type { SshSession } from './session';

export interface ProbeOutcome {
  ok: boolean;
  attempts: number;
  detail: string;
}

export const PROBE_DEFAULTS = { attempts: 10, intervalMs: 500, timeoutMs: 2_000 } as const;

export interface ProbeLoopOptions {
  /** Ends the loop (rejecting with the signal's reason) when it aborts. */
  signal?: AbortSignal;
  /** Called after every attempt that did not succeed (the push heartbeats with it). */
  onAttempt?: (a: { attempt: number; detail: string }) => void;
}

export async function runProbe(probe: PushProbe, session: SshSession, opts: ProbeLoopOptions = {}): Promise<ProbeOutcome> {
  const attempts = Math.max(1, probe.attempts ?? PROBE_DEFAULTS.attempts);
  const intervalMs = probe.intervalMs ?? PROBE_DEFAULTS.intervalMs;
  const timeoutMs = probe.timeoutMs ?? PROBE_DEFAULTS.timeoutMs;
  let detail = 'not run';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    throwIfAborted(opts.signal);
    const result = await probeOnce(probe, session, timeoutMs, opts.signal);
    detail = result.detail;
    if (result.ok) return { ok: true, attempts: attempt, detail };
    opts.onAttempt?.({ attempt, detail });
    if (attempt < attempts) await sleep(intervalMs, opts.signal);
  }
  return { ok: false, attempts, detail };
}

async function probeOnce(probe: PushProbe, session: SshSession, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ ok: boolean; detail: string }> {
  switch (probe.kind) {
    case 'http': {
      try {
        const bounded = AbortSignal.timeout(timeoutMs);
        const response = await fetch(probe.url, { signal: signal ? AbortSignal.any([bounded, signal]) : bounded, redirect: 'manual' });
        // Only the start of a body is read or repeated: the LB answers a line, anything longer is not ours.
        const body = (await readAtMost(response, 512)).trim();
        const statusOk = probe.expectStatus !== undefined ? response.status === probe.expectStatus : response.ok;
        if (statusOk && probe.expectBody !== undefined && body !== probe.expectBody.trim()) {
          const seen = JSON.stringify(body.slice(0, 120));
          return { ok: false, detail: `${probe.url} answered ${response.status} ${seen}, expected ${JSON.stringify(probe.expectBody)}${probe.bodyMismatchHint ? `: ${probe.bodyMismatchHint}` : ''}` };
        }
        return { ok: statusOk, detail: `${probe.url} answered ${response.status}` };
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        return { ok: false, detail: `${probe.url} unreachable (${cause})` };
      }
    }
    case 'tcp':
      return new Promise((resolve) => {
        const socket = connect({ host: probe.host, port: probe.port });
        const done = (ok: boolean, detail: string) => {
          socket.destroy();
          resolve({ ok, detail });
        };
        socket.setTimeout(timeoutMs, () => done(false, `${probe.host}:${probe.port} did not accept a connection within ${timeoutMs} ms`));
        socket.once('connect', () => done(true, `${probe.host}:${probe.port} accepts connections`));
        socket.once('error', (err: NodeJS.ErrnoException) => done(false, `${probe.host}:${probe.port} refused (${err.code ?? err.message})`));
      });
    case 'command': {
      let result;
      try {
        result = await session.run(probe.argv, { timeoutMs });
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
      const output = `${result.stdout}${result.stderr}`.trim();
      return { ok: result.code === 0, detail: `${probe.argv.join(' ')} exited ${result.code ?? result.signal}${output ? `: ${output}` : ''}` };
    }
  }
}

/** The first `limit` bytes of a response body as text; the rest is never read (the stream is cancelled). */
async function readAtMost(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}
