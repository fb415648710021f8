// Failover overhead: wall time of failoverIp (start → result, as a user waits for it)
// minus the simulated OVH move time, over 20 moves back and forth. What remains is what
// autok8s adds: Temporal scheduling, the probes, the OVH calls, and polling granularity.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createSecretResolver } from '../activities/secrets';
import { startFailover } from '../client/start';
import { startSandbox } from '../sandbox';
import { createWorker } from '../worker/worker';
import { ms, report } from './report';
import { summarize } from './stats';

export async function failoverOverhead(temporalAddress: string, runs = 20): Promise<void> {
  const moveMs = 2000;
  const pollIntervalMs = 200;
  const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-bench-failover-')), latency: { ovh: { moveMs } } });
  const taskQueue = `bench-failover-${process.pid}`;
  const { worker, connection } = await createWorker({ address: temporalAddress, taskQueue, deps: { secrets: createSecretResolver(), pollIntervalMs } });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
  const walls: number[] = [];
  const overheads: number[] = [];
  try {
    const ip = box.spec.failoverIps[0];
    // One warm-up run (bundle load, TLS session, first OVH /auth/time) that is not counted.
    await (await startFailover(client, taskQueue, box.spec, { ip, to: 'srv-b', reason: 'warm-up' })).handle.result();
    for (let i = 0; i < runs; i++) {
      const to = i % 2 === 0 ? 'srv-a' : 'srv-b';
      const started = Date.now();
      const { handle } = await startFailover(client, taskQueue, box.spec, { ip, to, reason: `bench ${i}` });
      const result = await handle.result();
      const wall = Date.now() - started;
      if (!result.moved) throw new Error(`run ${i} did not move the IP: ${result.why}`);
      walls.push(wall);
      overheads.push(wall - moveMs);
    }
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    await client.connection.close();
    await box.stop();
  }
  const wall = summarize(walls);
  const overhead = summarize(overheads);
  report({
    name: 'failover-overhead',
    goal: 'overhead (wall − simulated move time) under 500 ms at p95',
    met: overhead.p95 < 500,
    settings: { runs, simulatedMoveMs: moveMs, pollIntervalMs },
    columns: ['metric', 'n', 'p50', 'p95', 'max'],
    rows: [
      ['workflow wall time', wall.n, ms(wall.p50), ms(wall.p95), ms(wall.max)],
      ['overhead (wall − move)', overhead.n, ms(overhead.p50), ms(overhead.p95), ms(overhead.max)],
    ],
    data: { walls, overheads },
  });
}
