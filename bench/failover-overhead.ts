// Failover overhead: wall time of failoverIp (start → result, as a user waits for it)
// minus the simulated OVH move time, over 20 moves back and forth. What remains is what
// autok8s adds: Temporal scheduling, the probes, the OVH calls, and polling granularity.
// Once more with payloads encrypted (codec/), to show what the codec adds.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFailover } from '../client/start';
import { payloadDataConverter } from '../codec/data-converter';
import { addKey } from '../codec/keyring';
import { startSandbox } from '../sandbox';
import { ms, report } from './report';
import { summarize } from './stats';
import { startBenchWorker } from './bench-worker';

interface Sample {
  walls: number[];
  overheads: number[];
}

/** 20 moves back and forth with one worker polling OVH tasks every `pollIntervalMs`. */
async function measure(temporalAddress: string, runs: number, moveMs: number, pollIntervalMs: number, encrypted = false): Promise<Sample> {
  // A cluster and a task queue per measurement: a cluster's spec store lives on the queue that
  // first started it, and the encrypted worker must not inherit the plain runs' histories.
  const variant = `${pollIntervalMs}${encrypted ? '-enc' : ''}`;
  const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-bench-failover-')), clusterName: `bench-failover-${variant}`, latency: { ovh: { moveMs } }, publicProbe: false });
  const taskQueue = `bench-failover-${variant}-${process.pid}`;
  let dataConverter;
  if (encrypted) {
    const keys = join(box.dir, 'payload-keys');
    addKey(keys, 'bench');
    dataConverter = payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: keys });
  }
  const { client, stop: stopWorker } = await startBenchWorker({ address: temporalAddress, taskQueue, pollIntervalMs, dataConverter });
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
    await stopWorker();
    await box.stop();
  }
  return { walls, overheads };
}

export async function failoverOverhead(temporalAddress: string, runs = 20): Promise<void> {
  const moveMs = 2000;
  // 200 ms: the sandbox setting, where polling granularity stays small; 1000 ms: the worker's
  // default, sized for real OVH moves of about a minute (up to 1 s of the overhead is polling).
  const polls = [200, 1000];
  const samples: ({ poll: number; encrypted: boolean } & Sample)[] = [];
  for (const poll of polls) samples.push({ poll, encrypted: false, ...(await measure(temporalAddress, runs, moveMs, poll)) });
  samples.push({ poll: polls[0], encrypted: true, ...(await measure(temporalAddress, runs, moveMs, polls[0], true)) });
  const rows = samples.flatMap(({ poll, encrypted, walls, overheads }) => {
    const wall = summarize(walls);
    const overhead = summarize(overheads);
    const how = `poll ${poll} ms${encrypted ? ', payloads encrypted' : ''}`;
    return [
      [`wall time, ${how}`, wall.n, ms(wall.p50), ms(wall.p95), ms(wall.max)],
      [`overhead (wall − move), ${how}`, overhead.n, ms(overhead.p50), ms(overhead.p95), ms(overhead.max)],
    ];
  });
  const primary = summarize(samples[0].overheads);
  report({
    name: 'failover-overhead',
    goal: `overhead (wall − simulated move time) under 500 ms at p95 (poll ${polls[0]} ms)`,
    met: primary.p95 < 500,
    settings: { runs, simulatedMoveMs: moveMs, pollIntervalsMs: polls, encryptedVariant: `poll ${polls[0]} ms, AES-256-GCM payload codec` },
    columns: ['metric', 'n', 'p50', 'p95', 'max'],
    rows,
    data: samples,
  });
}
