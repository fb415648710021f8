// replaceNode's own quorum guard, on a bootstrapped 3-server sandbox: replacing a control
// plane that etcd cannot spare is refused before anything is touched. The refusal is final
// (a non-retryable QuorumRefused failure) and the sandbox's audit log, which records every
// mutating call a simulator receives, has nothing after the refused run: no etcd member
// left or was removed, no VM was destroyed, created or started.
//   - srv-a's control plane is dead: replacing srv-b's would leave one healthy member of three;
//   - srv-a's and srv-c's are dead: no other control plane answers to act through at all.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBootstrap, startReplace } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { connect, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

const CLUSTER = 'replace-quorum';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-replace-quorum-')), clusterName: CLUSTER });
  client = await connect();
  queue = uniqueQueue('replace-quorum');
  worker = await startInProcessWorker(queue);
  await (await startBootstrap(client, queue, box.spec)).handle.result();
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

const controlPlane = (name: string) => box.spec.servers.find((s) => s.name === name)!.vms.controlPlane!;
const killControlPlane = (name: string) => box.proxmox.get(name)!.killVm(controlPlane(name).vmid);
const lastSeq = () => box.audit.entries().at(-1)?.seq ?? 0;

/** Replaces srv-b's control plane; returns the failure it ends with and every audit entry written meanwhile. */
async function refusedReplace(): Promise<{ failure: ApplicationFailure; touched: string[] }> {
  const before = lastSeq();
  const run = await startReplace(client, queue, box.spec, { server: 'srv-b', role: 'controlPlane', reason: 'test: quorum guard', ifBusy: 'fail' });
  const err = await run.handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  const touched = box.audit.entries().filter((e) => e.seq > before).map((e) => `${e.service} ${e.action} ${e.target} (${e.outcome})`);
  return { failure: failure as ApplicationFailure, touched };
}

describe('replaceNode of a control plane refuses to cost etcd its quorum', () => {
  it('refuses srv-b while srv-a is dead: one healthy member of three would be left', async () => {
    killControlPlane('srv-a');
    const membersBefore = box.talos.etcdMembers(CLUSTER).map((m) => m.id).sort();
    const { failure, touched } = await refusedReplace();

    expect(failure.type).toBe('QuorumRefused');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('removing srv-b would leave 1 healthy etcd member, fewer than the 2 a 3-member cluster needs; repair the unhealthy members first');
    expect(touched, 'mutating calls after the refused replacement started').toEqual([]);
    expect(box.talos.etcdMembers(CLUSTER).map((m) => m.id).sort()).toEqual(membersBefore);
    expect(box.proxmox.get('srv-b')!.vms().find((vm) => vm.vmid === controlPlane('srv-b').vmid)?.status).toBe('running');
  });

  it('refuses srv-b while srv-a and srv-c are dead: no other control plane answers', async () => {
    killControlPlane('srv-c'); // srv-a is still dead from the test above
    const { failure, touched } = await refusedReplace();

    expect(failure.type).toBe('QuorumRefused');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('no other healthy control plane answers; replacing srv-b now could lose etcd — restore quorum first');
    expect(touched, 'mutating calls after the refused replacement started').toEqual([]);
    expect(box.proxmox.get('srv-b')!.vms().find((vm) => vm.vmid === controlPlane('srv-b').vmid)?.status).toBe('running');
  });
});
