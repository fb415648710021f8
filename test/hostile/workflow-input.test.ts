// Workflow inputs as an attacker with access to Temporal would send them (`temporal workflow
// start --input ...`): specs and file paths in the input, unknown clusters, injected strings,
// absurd values. Each run fails at once, non-retryably, with a message naming the field, and
// nothing reaches a provider. Specs sent to the spec store that break the schema or the
// worker's policy are refused the same way, and the current generation stays as it was.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootCauseMessage } from '../../client/failure';
import { applySpec } from '../../client/start';
import type { ClusterSpec } from '../../core/spec/schema';
import { startSandbox, type Sandbox } from '../../sandbox';
import { connect, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

const CLUSTER = 'hostile';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;
let generation: string;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-hostile-')), clusterName: CLUSTER });
  client = await connect();
  queue = uniqueQueue('hostile');
  worker = await startInProcessWorker(queue);
  generation = (await applySpec(client, queue, box.spec)).generation;
  callsAtStart = providerCalls();
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

/** The deepest ApplicationFailure under a failed run: what the workflow or its activity said. */
function rootApplicationFailure(err: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined) {
    if (e instanceof ApplicationFailure) found = e;
  }
  return found;
}

/** Every call a simulated provider (OVH, Proxmox, Talos, an LB host) answered. */
const providerCalls = () => box.audit.entries().length;
let callsAtStart = 0;

const base = {
  failoverIp: { cluster: CLUSTER, ip: '203.0.113.10', to: 'srv-a' },
  bootstrapCluster: { cluster: CLUSTER },
  replaceNode: { cluster: CLUSTER, server: 'srv-b', role: 'worker' },
  healthCheck: { cluster: CLUSTER },
  lbLink: { cluster: CLUSTER, server: 'srv-a', state: 'down' },
};

const cases: { name: string; workflow: string; input: unknown; type: string; field: RegExp }[] = [
  { name: 'a spec inside a failover input', workflow: 'failoverIp', input: { ...base.failoverIp, spec: {} }, type: 'BadInput', field: /spec: not an input of failoverIp; a run uses the spec its cluster accepted/ },
  { name: 'a spec file on the worker named by a failover input', workflow: 'failoverIp', input: { ...base.failoverIp, specFile: '/etc/passwd' }, type: 'BadInput', field: /specFile: not an input of failoverIp/ },
  { name: 'a spec inside a bootstrap input', workflow: 'bootstrapCluster', input: { ...base.bootstrapCluster, spec: {} }, type: 'BadInput', field: /spec: not an input of bootstrapCluster/ },
  { name: 'a spec inside a replace input', workflow: 'replaceNode', input: { ...base.replaceNode, spec: {} }, type: 'BadInput', field: /spec: not an input of replaceNode/ },
  { name: 'a spec inside a health pass input', workflow: 'healthCheck', input: { ...base.healthCheck, spec: {} }, type: 'BadInput', field: /spec: not an input of healthCheck/ },
  { name: 'a spec inside a provision input', workflow: 'provisionServer', input: { cluster: CLUSTER, server: 'srv-a', generation: 'g000000000000', spec: {} }, type: 'BadInput', field: /spec: not an input of provisionServer/ },
  { name: 'an unknown field beside the intent', workflow: 'healthCheck', input: { ...base.healthCheck, interval: '1ms' }, type: 'BadInput', field: /interval: not an input of healthCheck/ },
  { name: 'no input at all', workflow: 'bootstrapCluster', input: null, type: 'BadInput', field: /bad input to bootstrapCluster: \(input\)/ },
  { name: 'a list instead of an intent', workflow: 'failoverIp', input: [CLUSTER], type: 'BadInput', field: /\(input\)/ },
  { name: 'a cluster name carrying a shell command', workflow: 'failoverIp', input: { ...base.failoverIp, cluster: 'x; rm -rf /' }, type: 'BadInput', field: /cluster: must be a DNS label/ },
  { name: 'a cluster name climbing out of a path', workflow: 'bootstrapCluster', input: { cluster: '../../etc' }, type: 'BadInput', field: /cluster: must be a DNS label/ },
  { name: 'an IP carrying a keepalived line', workflow: 'failoverIp', input: { ...base.failoverIp, ip: '203.0.113.10\n  notify "/bin/sh"' }, type: 'BadInput', field: /ip: must be an IPv4 address/ },
  { name: 'a target server made of a command substitution', workflow: 'failoverIp', input: { ...base.failoverIp, to: '$(id)' }, type: 'BadInput', field: /to: must be a DNS label/ },
  { name: 'a reason with a newline (log and UI injection)', workflow: 'failoverIp', input: { ...base.failoverIp, reason: 'ok\nFAKE: moved' }, type: 'BadInput', field: /reason: must be one line without control characters/ },
  { name: 'a reason of 100 kB', workflow: 'failoverIp', input: { ...base.failoverIp, reason: 'x'.repeat(100_000) }, type: 'BadInput', field: /reason: must be at most 200 characters/ },
  { name: 'a role that is not a VM of autok8s', workflow: 'replaceNode', input: { ...base.replaceNode, role: 'root' }, type: 'BadInput', field: /role: / },
  { name: 'a server name with a path in it', workflow: 'replaceNode', input: { ...base.replaceNode, server: 'srv-b/../srv-a' }, type: 'BadInput', field: /server: must be a DNS label/ },
  { name: 'an if-busy that is neither wait nor fail', workflow: 'bootstrapCluster', input: { cluster: CLUSTER, ifBusy: 'never' }, type: 'BadInput', field: /ifBusy: / },
  { name: 'a generation that is not one', workflow: 'provisionServer', input: { cluster: CLUSTER, server: 'srv-a', generation: 'latest' }, type: 'BadInput', field: /generation: must be a spec generation/ },
  { name: 'a number where the cluster name goes', workflow: 'healthCheck', input: { cluster: 42 }, type: 'BadInput', field: /cluster: / },
  { name: 'an unknown cluster', workflow: 'failoverIp', input: { ...base.failoverIp, cluster: 'nobody' }, type: 'UnknownCluster', field: /cluster nobody has no accepted spec; apply one first: autok8s apply -f/ },
  { name: 'an unknown cluster to bootstrap', workflow: 'bootstrapCluster', input: { cluster: 'nobody' }, type: 'UnknownCluster', field: /cluster nobody has no accepted spec/ },
  { name: 'a generation the store never accepted', workflow: 'failoverIp', input: { ...base.failoverIp, generation: 'g000000000000' }, type: 'UnknownCluster', field: /no accepted spec of generation g000000000000/ },
  { name: 'an IP that is not one of the cluster’s', workflow: 'failoverIp', input: { ...base.failoverIp, ip: '198.51.100.7' }, type: 'BadInput', field: /198\.51\.100\.7 is not one of the cluster's failoverIps/ },
  { name: 'a server that is not in the spec', workflow: 'replaceNode', input: { ...base.replaceNode, server: 'srv-z' }, type: 'BadInput', field: /server srv-z is not in the spec/ },
  { name: 'a spec inside an lb-link input', workflow: 'lbLink', input: { ...base.lbLink, spec: {} }, type: 'BadInput', field: /spec: not an input of lbLink/ },
  { name: 'a link state that is neither up nor down', workflow: 'lbLink', input: { ...base.lbLink, state: 'unplug; reboot' }, type: 'BadInput', field: /state: must be up or down/ },
  { name: 'an lb-link for a server that is not in the spec', workflow: 'lbLink', input: { ...base.lbLink, server: 'srv-z' }, type: 'BadInput', field: /^server: srv-z is not a server of cluster hostile/ },
];

describe('hostile workflow inputs', () => {
  it.each(cases)('$name: refused at once ($type), naming the field, nothing touched', async ({ workflow, input, type, field }) => {
    const before = providerCalls();
    const err = await client.workflow
      .execute(workflow, { taskQueue: queue, workflowId: `${CLUSTER}/hostile/${Math.random().toString(36).slice(2)}`, args: [input], workflowExecutionTimeout: '60s' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = rootApplicationFailure(err);
    expect(cause, String(err)).toBeDefined();
    expect(cause!.type).toBe(type);
    expect(cause!.nonRetryable).toBe(true);
    expect(cause!.message).toMatch(field);
    expect(providerCalls()).toBe(before);
  });

  it('left the sandbox untouched: no provider saw a call', () => {
    expect(providerCalls()).toBe(callsAtStart);
  });
});

describe('hostile specs sent to the spec store', () => {
  const edited = (edit: (s: ClusterSpec) => void): ClusterSpec => {
    const s = structuredClone(box.spec);
    edit(s);
    return s;
  };
  it.each([
    { name: 'a secret reference outside the worker’s policy', spec: () => edited((s) => (s.ovh.consumerKey = 'file:/etc/shadow')), said: /ovh\.consumerKey: \/etc\/shadow is outside the directories/ },
    { name: 'an environment variable the worker does not hand out', spec: () => edited((s) => (s.servers[0].proxmox.tokenSecret = 'env:AWS_SECRET_ACCESS_KEY')), said: /servers\[0\]\.proxmox\.tokenSecret: environment variable AWS_SECRET_ACCESS_KEY/ },
    { name: 'an OVH endpoint of the attacker’s', spec: () => edited((s) => (s.ovh.endpoint = 'https://198.51.100.9/1.0')), said: /ovh\.endpoint: https:\/\/198\.51\.100\.9\/1\.0 is not one of OVH's API regions/ },
    { name: 'a talosctl of the attacker’s', spec: () => edited((s) => (s.talos.talosctl = '/usr/bin/env')), said: /talos\.talosctl: talosctl binary \/usr\/bin\/env is outside/ },
    { name: 'a spec of another cluster sent to this store', spec: () => edited((s) => (s.metadata.name = 'victim')), said: /./ },
    { name: 'a spec that breaks the schema', spec: () => edited((s) => ((s.servers[0].vms.lb as { ip: string }).ip = '10.0.0.1\nnotify')), said: /servers\[0\]\.vms\.lb\.ip/ },
  ])('$name: refused, and the current generation stays', async ({ spec, said }) => {
    const before = providerCalls();
    const bad = spec();
    // Another cluster's name goes to that cluster's store; send it to this one as an attacker would.
    const target = bad.metadata.name === CLUSTER ? applySpec(client, queue, bad) : client.workflow.getHandle(`${CLUSTER}/spec`).executeUpdate('apply', { args: [{ spec: bad }] });
    await expect(target).rejects.toThrow(said);
    const current = await client.workflow.getHandle(`${CLUSTER}/spec`).query<{ generation: string }>('spec');
    expect(current.generation).toBe(generation);
    expect(providerCalls()).toBe(before);
  });
});

/** The innermost message of a refused update ('' when it was not refused). */
const refusal = (update: Promise<unknown>) => update.then(() => '', (e: unknown) => rootCauseMessage(e));

describe('forged messages to the long-lived workflows', () => {
  const observation = () => ({ cluster: CLUSTER, at: Date.now(), nodes: [{ server: 'srv-b', role: 'worker', healthy: false, detail: 'forged' }], etcd: [], failover: [] });

  it('a watcher report carrying a spec of the sender’s is refused before it is recorded', async () => {
    const watcher = await client.workflow.start('clusterWatcher', { taskQueue: queue, workflowId: `${CLUSTER}/watcher`, args: [{ cluster: CLUSTER }], workflowIdConflictPolicy: 'USE_EXISTING' });
    const forgedSpec = { ...box.spec, servers: box.spec.servers.map((x) => ({ ...x, proxmox: { ...x.proxmox, url: 'https://198.51.100.9:8006' } })) };
    expect(await refusal(watcher.executeUpdate('report', { args: [{ observation: observation(), generation, spec: forgedSpec }] }))).toMatch(/spec: not an input of watcherReport/);
    // A report of a generation the store never accepted is refused too, after the watcher asked the store.
    expect(await refusal(watcher.executeUpdate('report', { args: [{ observation: observation(), generation: 'g000000000000' }] }))).toMatch(/no accepted spec of generation g000000000000/);
    expect((await watcher.query<{ recent: unknown[] }>('status')).recent).toEqual([]);
    expect(providerCalls()).toBe(callsAtStart);
    await watcher.terminate('test done');
  });

  it('a spec store started by hand with forged generations fails at once', async () => {
    const forged = { ...box.spec, ovh: { ...box.spec.ovh, endpoint: 'https://198.51.100.9/1.0' } };
    const err = await client.workflow
      .execute('clusterSpec', { taskQueue: queue, workflowId: `forged/spec`, args: [{ cluster: 'forged', kept: [{ generation: 'g000000000000', spec: forged, acceptedAt: 0 }] }], workflowExecutionTimeout: '30s' })
      .then(() => undefined, (e: unknown) => e);
    expect(rootApplicationFailure(err)).toMatchObject({ type: 'BadInput', nonRetryable: true });
  });

  it('an apply with a note that is not one line of text is refused', async () => {
    expect(await refusal(client.workflow.getHandle(`${CLUSTER}/spec`).executeUpdate('apply', { args: [{ spec: box.spec, note: 'ok\nforged: line' }] }))).toMatch(/one line without control characters/);
  });
});
