// `autok8s plan` and `autok8s status` as a user runs them against a sandbox: before a
// bootstrap the plan lists every change; after it, none. Neither command changes anything.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootstrapPlan, ObservedCluster } from '../../core/plan/bootstrap-plan';
import { startSandbox, type Sandbox } from '../../sandbox';
import { SANDBOXES_POLICY_ENV } from '../helpers/policy';
import { runAutok8s } from '../helpers/cli';
import type { BootstrapClusterResult } from '../../workflows/bootstrap-cluster';
import { connect, startInProcessWorker, temporalAddress, uniqueQueue, type RunningWorker } from '../helpers/temporal';

let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

async function autok8s<T>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; json: T; stderr: string }> {
  const { code, stdout, stderr } = await runAutok8s([...args, '--output', 'json'], { ...SANDBOXES_POLICY_ENV, ...env });
  return { code, json: (stdout ? JSON.parse(stdout) : undefined) as T, stderr };
}

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-plan-')), clusterName: 'plan' });
  client = await connect();
  queue = uniqueQueue('plan');
  worker = await startInProcessWorker(queue);
});
afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

// What plan and status might change: calls to the providers and the LB hosts. The LB hosts' own
// keepalived elections (sandbox/vrrp-sim.ts) happen on their own clock and are not a command's doing.
const mutations = () => box.audit.entries().filter((e) => !e.action.startsWith('auth') && e.service !== 'ssh:auth' && !e.service.startsWith('keepalived:')).length;

describe('autok8s plan and status', () => {
  it('on an empty cluster: plans every change, and changes nothing', async () => {
    const before = mutations();
    const { code, json: plan, stderr } = await autok8s<BootstrapPlan>(['plan', '-f', box.specFile]);
    expect(code, stderr).toBe(0);
    expect(plan.conflicts).toEqual([]);
    expect(plan.changes.filter((c) => c.change.startsWith('create VM'))).toHaveLength(9);
    expect(plan.changes.filter((c) => c.change.startsWith('join vRack'))).toHaveLength(3);
    expect(plan.changes.filter((c) => c.change.startsWith('bootstrap etcd'))).toHaveLength(1);
    expect(plan.changes.filter((c) => c.change.startsWith('push '))).toHaveLength(9);
    const { json: status } = await autok8s<ObservedCluster>(['status', '-f', box.specFile]);
    expect(status.vms.every((vm) => !vm.exists)).toBe(true);
    expect(mutations()).toBe(before);
  });

  it('after a bootstrap (`autok8s bootstrap --wait`): status shows it all and the plan is empty', async () => {
    const { code, json: result, stderr } = await autok8s<BootstrapClusterResult & { workflowId: string; runId: string; url: string }>(['bootstrap', '-f', box.specFile, '--wait'], {
      TEMPORAL_ADDRESS: temporalAddress(),
      AUTOK8S_TASK_QUEUE: queue,
    });
    expect(code, stderr).toBe(0);
    expect(result).toMatchObject({ cluster: 'plan', changed: true, workflowId: 'plan/bootstrap', etcdBootstrappedOn: 'srv-a' });
    expect(result.url).toContain(encodeURIComponent('plan/bootstrap'));
    expect(result.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['provision-servers', 'etcd-bootstrap', 'cluster-health', 'kubeconfig']));
    // The run the CLI followed is the cluster's bootstrap run (its workflow ID is the cluster's).
    expect((await client.workflow.getHandle('plan/bootstrap').describe()).runId).toBe(result.runId);
    const { json: status } = await autok8s<ObservedCluster>(['status', '-f', box.specFile]);
    expect(status.vms.every((vm) => vm.exists && vm.owned && vm.status === 'running')).toBe(true);
    expect([...(status.talos.etcdMembers as string[])].sort()).toEqual(['srv-a', 'srv-b', 'srv-c']); // etcd lists members in no set order
    expect(status.lbFiles.every((f) => f.state === 'same')).toBe(true);
    const { json: plan } = await autok8s<BootstrapPlan>(['plan', '-f', box.specFile]);
    expect(plan).toEqual({ changes: [], conflicts: [], unknown: [], checks: [] });
  });
});
