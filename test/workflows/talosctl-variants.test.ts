// The same operations through each talosctl a sandbox can name: the pinned real talosctl and
// the fallback client (a small client of the same gRPC API, for machines without Go). Both
// drive the same simulated nodes over the Talos API, so a bootstrap and a worker replacement
// must end the same way, step for step: what one sees and the other does not is a difference
// between the clients, and the table below names it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBootstrap, startReplace } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { findPinnedTalosctl } from '../../sandbox/talos/real-talosctl';
import { requireInCi } from '../helpers/prerequisites';
import { connect, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

const real = findPinnedTalosctl();
const skipReal = requireInCi('missing' in real ? real.missing : undefined, 'the real talosctl variant');

interface Outcome {
  talosctl: string;
  bootstrap: { step: string; status: string }[];
  etcdMembers: number;
  readyWorkers: number;
  replace: { step: string; status: string }[];
  drain: string;
}

const outcomes = new Map<'real' | 'fallback', Outcome>();
let client: Client;
let worker: RunningWorker;
let queue: string;

beforeAll(async () => {
  client = await connect();
  queue = uniqueQueue('talosctl-variants');
  worker = await startInProcessWorker(queue);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
});

async function run(kind: 'real' | 'fallback'): Promise<Outcome> {
  let box: Sandbox | undefined;
  try {
    box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), `ak8s-variant-${kind}-`)), clusterName: kind === 'real' ? 'variant-real' : 'variant-fallback', talosctl: kind });
    const boot = await (await startBootstrap(client, queue, box.spec)).handle.result();
    const replaced = await (await startReplace(client, queue, box.spec, { server: 'srv-b', role: 'worker', reason: `test: the ${kind} talosctl` })).handle.result();
    // As a set: the workflows run branches side by side, so the order of their steps is not part of the outcome.
    const steps = (s: { name: string; status: string }[]) => s.map((x) => ({ step: x.name, status: x.status })).sort((a, b) => a.step.localeCompare(b.step));
    return {
      talosctl: box.talosctl.kind,
      bootstrap: steps(boot.steps),
      etcdMembers: box.talos.etcdMembers().length,
      readyWorkers: box.talos.nodes().filter((n) => n.machineType === 'worker' && n.ready).length,
      replace: steps(replaced.steps),
      drain: replaced.steps.find((s) => s.name === 'drain')?.status ?? 'missing',
    };
  } finally {
    await box?.stop();
  }
}

describe('a bootstrap and a worker replacement through each talosctl', () => {
  it('the fallback client builds the cluster and drains the worker before replacing it', async () => {
    const o = await run('fallback');
    outcomes.set('fallback', o);
    expect(o).toMatchObject({ talosctl: 'fallback', etcdMembers: 3, readyWorkers: 3, drain: 'done' });
  }, 240_000);

  it.skipIf(skipReal)(`the real talosctl does the same${skipReal ? ` (skipped: ${'missing' in real ? real.missing : ''})` : ''}, step for step`, async () => {
    const o = await run('real');
    expect(o).toMatchObject({ talosctl: 'real', etcdMembers: 3, readyWorkers: 3, drain: 'done' });
    const fallback = outcomes.get('fallback');
    expect(fallback, 'the fallback case ran first and recorded its outcome').toBeDefined();
    expect(o.bootstrap).toEqual(fallback!.bootstrap);
    expect(o.replace).toEqual(fallback!.replace);
  }, 240_000);
});
