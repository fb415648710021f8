// The OVH activities against the simulator, called as plain functions (and once inside
// MockActivityEnvironment for heartbeats and cancellation). The fault that matters most is
// applyThenStatus: the move is applied but answered 500, and the retry must not move twice.
import { ANYTHING_POLICY } from '../helpers/policy';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import ovh from 'ovh';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOvhActivities } from '../../activities/ovh/activities';
import { createOvhClientFactory, type OvhSpec } from '../../activities/ovh/client';
import { createSecretResolver } from '../../activities/secrets';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { OvhSimulator } from '../../sandbox/ovh/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';

const IP = '203.0.113.10';
const SRV_A = 'ns5001.ip-10-0-0.eu';
const SRV_B = 'ns5002.ip-10-0-0.eu';
const SRV_C = 'ns5003.ip-10-0-0.eu';
/** Servers without configurable network interfaces: they join a vRack by the legacy call. */
const LEGACY_A = 'ns4001.ip-10-0-1.eu';
const LEGACY_B = 'ns4002.ip-10-0-1.eu';
const LEGACY_C = 'ns4003.ip-10-0-1.eu';
const VRACK = 'pn-100001';
const AK = 'act-app-key-0001';
const AS = 'act-app-secret-s3cr3t-0001';
const CK = 'act-consumer-key-s3cr3t-0001';
const WRONG_AS = 'act-wrong-secret-s3cr3t-9999';

const MOVE_MOVE = { action: 'POST /ip/{ip}/move' };

let dir: string;
let ca: SandboxCa;
let sim: OvhSimulator;
let audit: AuditLog;
let faults: FaultInjector;
let spec: OvhSpec;

const env = { OVH_AK: AK, OVH_AS: AS, OVH_CK: CK, OVH_WRONG_AS: WRONG_AS };
const activities = createOvhActivities({ secrets: createSecretResolver(env, ANYTHING_POLICY), pollIntervalMs: 25, requestTimeoutMs: 1000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovh-act-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  audit = new AuditLog();
  faults = new FaultInjector();
  sim = await OvhSimulator.start({
    ca,
    audit,
    faults,
    credentials: [{ applicationKey: AK, applicationSecret: AS, consumerKey: CK }],
    failoverIps: [{ ip: IP, routedTo: SRV_A }],
    dedicatedServers: [
      { serviceName: SRV_A },
      { serviceName: SRV_B },
      { serviceName: SRV_C },
      ...[LEGACY_A, LEGACY_B, LEGACY_C].map((serviceName) => ({ serviceName, networkInterfaces: 'legacy' as const })),
    ],
    vracks: [{ serviceName: VRACK, dedicatedServers: [SRV_A, LEGACY_A] }],
    latency: { moveMs: 300, vrackTaskMs: 150, rebootMs: 150 },
  });
  spec = { endpoint: sim.endpoint, caFile: ca.certFile, applicationKey: 'env:OVH_AK', applicationSecret: 'env:OVH_AS', consumerKey: 'env:OVH_CK', vrack: VRACK };
});

afterEach(async () => {
  await sim.stop();
});

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('the activity succeeded');
}

/** Results go into Temporal histories: plain JSON, and no secret anywhere. */
function expectJsonWithoutSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  expect(JSON.parse(text)).toEqual(value);
  for (const s of [AS, CK, WRONG_AS]) expect(text).not.toContain(s);
}

describe('failover IP activities', () => {
  it('reads the routing, and a pending move', async () => {
    sim.setLatency({ moveMs: 2000 }); // long enough to stay pending on a loaded machine
    expect(await activities.getIpRouting(spec, IP)).toEqual({ ip: IP, routedTo: SRV_A });
    const started = await activities.startIpMove(spec, IP, SRV_B);
    const routing = await activities.getIpRouting(spec, IP);
    expect(routing).toEqual({ ip: IP, routedTo: SRV_A, pendingMove: { taskId: started.taskId, status: expect.stringMatching(/todo|doing/), destination: SRV_B } });
    expectJsonWithoutSecrets(routing);
  });

  it('moves the IP: start, wait for the task, routed', async () => {
    const started = await activities.startIpMove(spec, IP, SRV_B);
    expect(started).toEqual({ taskId: expect.any(Number), alreadyRouted: false, adoptedPendingTask: false });
    const done = await activities.waitForIpTask(spec, IP, started.taskId!);
    expect(done).toMatchObject({ taskId: started.taskId, status: 'done' });
    expect(sim.routing(IP)).toBe(SRV_B);
    expect((await activities.getIpRouting(spec, IP)).routedTo).toBe(SRV_B);
    expectJsonWithoutSecrets([started, done]);
  });

  it('after a move applied but answered 500, the retry adopts the pending task: one move', async () => {
    sim.setLatency({ moveMs: 1500 });
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'applyThenStatus', status: 500 } });
    const first = await failureOf(activities.startIpMove(spec, IP, SRV_B));
    expect(first).toMatchObject({ type: 'OvhTransient', nonRetryable: false });

    const retry = await activities.startIpMove(spec, IP, SRV_B); // what Temporal's retry does
    expect(retry).toMatchObject({ adoptedPendingTask: true, alreadyRouted: false });
    await activities.waitForIpTask(spec, IP, retry.taskId!);

    expect(sim.routing(IP)).toBe(SRV_B);
    expect(audit.count(MOVE_MOVE)).toBe(1);
    expect(audit.entries(MOVE_MOVE)[0].detail).toMatchObject({ applied: true, taskId: retry.taskId });
    expect(audit.count({ action: 'task:genericMoveFloatingIp' })).toBe(1);
  });

  it('does not POST when the IP is already routed there', async () => {
    expect(await activities.startIpMove(spec, IP, SRV_A)).toEqual({ taskId: null, alreadyRouted: true, adoptedPendingTask: false });
    expect(audit.count(MOVE_MOVE)).toBe(0);
  });

  it('adopts a move that appeared between its look and its POST (409)', async () => {
    // The activity's POST is held 300 ms; meanwhile another caller moves the IP to the same server.
    sim.setLatency({ moveMs: 3000 });
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'delay', ms: 300 } });
    const pending = activities.startIpMove(spec, IP, SRV_B);
    for (let i = 0; i < 100 && faults.list()[0].fired === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const other = ovh({ appKey: AK, appSecret: AS, consumerKey: CK, host: 'localhost', port: sim.port, timeout: 2000 });
    const theirs = (await other.requestPromised('POST', `/ip/${encodeURIComponent(`${IP}/32`)}/move`, { to: SRV_B })) as { taskId: number };

    expect(await pending).toEqual({ taskId: theirs.taskId, alreadyRouted: false, adoptedPendingTask: true });
    expect(audit.entries(MOVE_MOVE).map((e) => e.outcome)).toEqual(['ok', 'rejected']); // theirs applied, ours refused 409
  });

  it('refuses to start while a move elsewhere is pending (retryable)', async () => {
    sim.setLatency({ moveMs: 3000 });
    await activities.startIpMove(spec, IP, SRV_C);
    const failure = await failureOf(activities.startIpMove(spec, IP, SRV_B));
    expect(failure).toMatchObject({ type: 'OvhMovePending', nonRetryable: false });
    expect(audit.count(MOVE_MOVE)).toBe(1);
  });

  it('fails a wrong application secret fast, with OVH’s message and no secret', async () => {
    const failure = await failureOf(activities.getIpRouting({ ...spec, applicationSecret: 'env:OVH_WRONG_AS' }, IP));
    expect(failure.type).toBe('OvhAuthError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('Invalid signature');
    expectJsonWithoutSecrets({ message: failure.message, details: failure.details, stack: failure.stack });
    expect(failure.message).not.toContain(AK);
  });

  it('fails a move to an unknown IP as not found', async () => {
    const failure = await failureOf(activities.startIpMove(spec, '203.0.113.99', SRV_B));
    expect(failure).toMatchObject({ type: 'OvhNotFound', nonRetryable: true });
    expect(failure.message).toContain('203.0.113.99/32');
  });

  it('waitForIpTask on a task that ends in ovhError throws OvhTaskFailed', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'taskError', message: 'routing table update failed' } });
    const { taskId } = await activities.startIpMove(spec, IP, SRV_B);
    const failure = await failureOf(activities.waitForIpTask(spec, IP, taskId!));
    expect(failure).toMatchObject({ type: 'OvhTaskFailed', nonRetryable: true });
    expect(failure.message).toContain('ovhError');
    expect(failure.message).toContain('routing table update failed');
    expect(sim.routing(IP)).toBe(SRV_A);
  });

  it('checks whether an IP can move: yes, no with OVH’s reason, or a clear error for an unknown server', async () => {
    expect(await activities.checkIpMovable(spec, IP, SRV_B)).toEqual({ movable: true });
    const no = await activities.checkIpMovable(spec, IP, SRV_A);
    expect(no.movable).toBe(false);
    expect(no.reason).toMatch(/already routed/);
    expect(await failureOf(activities.checkIpMovable(spec, IP, 'ns9999.ip-10-0-0.eu'))).toMatchObject({ type: 'OvhNotFound' });
  });

  it('turns a hung call into a retryable failure after the request timeout', async () => {
    faults.add({ service: 'ovh', method: 'GET', path: '^/ip/[^/]+$', effect: { kind: 'hang' } });
    const failure = await failureOf(activities.getIpRouting(spec, IP));
    expect(failure).toMatchObject({ type: 'OvhTransient', nonRetryable: false });
    expect(failure.message).toContain('ECONNRESET');
    expect((await activities.getIpRouting(spec, IP)).routedTo).toBe(SRV_A); // the retry goes through
  });

  it('heartbeats while waiting and stops when the activity is cancelled', async () => {
    sim.setLatency({ moveMs: 10_000 });
    const { taskId } = await activities.startIpMove(spec, IP, SRV_B);
    const mock = new MockActivityEnvironment();
    const beats: unknown[] = [];
    mock.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.length === 3) mock.cancel();
    });
    let error: unknown;
    try {
      await mock.run(activities.waitForIpTask, spec, IP, taskId!);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(beats[0]).toEqual({ taskId, status: expect.stringMatching(/todo|doing/) });
  });
});

// Each vRack case runs on both kinds of server: with configurable network interfaces (the
// sandbox default: joins by its vrack interface) and legacy (joins by service name).
describe.each([
  { kind: 'configurable', A: SRV_A, B: SRV_B, C: SRV_C, post: 'POST /vrack/{serviceName}/dedicatedServerInterface', faultPath: '/dedicatedServerInterface$', ended: 'task:addDedicatedServerInterfaceToVrack' },
  { kind: 'legacy', A: LEGACY_A, B: LEGACY_B, C: LEGACY_C, post: 'POST /vrack/{serviceName}/dedicatedServer', faultPath: '/dedicatedServer$', ended: 'task:addDedicatedServerToVrack' },
])('vRack membership of a $kind server', ({ A, B, C, post, faultPath, ended }) => {
  it('adds a server to the vRack once, through the call its kind needs; a member is left alone', async () => {
    sim.setLatency({ vrackTaskMs: 1500 });
    expect(await activities.ensureVrackMembership(spec, A)).toEqual({ alreadyMember: true });
    const added = await activities.ensureVrackMembership(spec, B);
    expect(added).toEqual({ alreadyMember: false, taskId: expect.any(Number), adoptedPendingTask: false });
    expect(await activities.ensureVrackMembership(spec, B)).toEqual({ alreadyMember: false, taskId: added.taskId, adoptedPendingTask: true });
    await activities.waitForVrackTask(spec, added.taskId!, B);
    expect(sim.vrackMembers(VRACK)).toContain(B);
    expect(await activities.ensureVrackMembership(spec, B)).toEqual({ alreadyMember: true });
    expect(audit.count({ action: post })).toBe(1);
    expect(await activities.listVrackMembers(spec)).toEqual(expect.arrayContaining([A, B]));
  });

  it('a wait that starts after the task finished (OVH then answers it 404) checks the membership and succeeds', async () => {
    sim.setLatency({ vrackTaskMs: 100 });
    const added = await activities.ensureVrackMembership(spec, B);
    await audit.waitFor({ action: ended, target: VRACK }, 5000);
    expect(await failureOf(vrackTaskRead(added.taskId!))).toMatchObject({ type: 'OvhNotFound' });
    expect(await activities.waitForVrackTask(spec, added.taskId!, B)).toMatchObject({ taskId: added.taskId, status: 'done' });
  });

  it('adopts the vRack task of an add that was applied but answered 503', async () => {
    sim.setLatency({ vrackTaskMs: 1500 });
    faults.add({ service: 'ovh', method: 'POST', path: faultPath, effect: { kind: 'applyThenStatus', status: 503 } });
    expect(await failureOf(activities.ensureVrackMembership(spec, C))).toMatchObject({ type: 'OvhTransient' });
    const retry = await activities.ensureVrackMembership(spec, C);
    expect(retry.adoptedPendingTask).toBe(true);
    await activities.waitForVrackTask(spec, retry.taskId!, C);
    expect(sim.vrackMembers(VRACK)).toContain(C);
    expect(audit.count({ action: post })).toBe(1);
  });

  it('a first attempt posts without scanning the tasks; a pending add (another run) is refused by OVH and adopted; a retry scans first', async () => {
    sim.setLatency({ vrackTaskMs: 1500 });
    const taskReads = () => sim.reads('GET /vrack/{serviceName}/task') + sim.reads('GET /vrack/{serviceName}/task/{taskId}');
    const first = new MockActivityEnvironment({ attempt: 1 });
    const added = (await first.run(activities.ensureVrackMembership, spec, B)) as Awaited<ReturnType<typeof activities.ensureVrackMembership>>;
    expect(added.adoptedPendingTask).toBe(false);
    expect(taskReads()).toBe(0);

    // Another run's first attempt for the same server: OVH refuses the second add, the call adopts the pending task.
    const again = await new MockActivityEnvironment({ attempt: 1 }).run(activities.ensureVrackMembership, spec, B);
    expect(again).toEqual({ alreadyMember: false, taskId: added.taskId, adoptedPendingTask: true });
    expect(audit.entries({ action: post }).map((e) => e.outcome)).toEqual(['ok', expect.not.stringMatching(/^ok$/)]);

    // A retry looks at the pending tasks before posting: no third POST.
    const retry = await new MockActivityEnvironment({ attempt: 2 }).run(activities.ensureVrackMembership, spec, B);
    expect(retry).toEqual({ alreadyMember: false, taskId: added.taskId, adoptedPendingTask: true });
    expect(audit.count({ action: post })).toBe(2);
    expect(taskReads()).toBeGreaterThan(0);
    expect(sim.vrackMembers(VRACK)).not.toContain(B);
  });
});

/** A direct signed read of a vRack task, as OVH answers it. */
async function vrackTaskRead(taskId: number): Promise<unknown> {
  const api = await createOvhClientFactory({ secrets: createSecretResolver(env, ANYTHING_POLICY) })(spec);
  return api.call('GET', `/vrack/${VRACK}/task/${taskId}`);
}

describe('dedicated server activities', () => {
  it('reads a server, reboots it once and waits for the task', async () => {
    sim.setLatency({ rebootMs: 1500 });
    expect(await activities.getDedicatedServer(spec, SRV_B)).toMatchObject({ name: SRV_B, state: 'ok', powerState: 'poweron' });
    const reboot = await activities.rebootDedicatedServer(spec, SRV_B);
    expect(reboot.adoptedPendingTask).toBe(false);
    expect(await activities.rebootDedicatedServer(spec, SRV_B)).toEqual({ taskId: reboot.taskId, adoptedPendingTask: true });
    expect(await activities.waitForServerTask(spec, SRV_B, reboot.taskId)).toMatchObject({ taskId: reboot.taskId, status: 'done' });
    expect(audit.count({ action: 'POST /dedicated/server/{serviceName}/reboot' })).toBe(1);
  });
});
