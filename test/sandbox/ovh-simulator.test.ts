// The OVH simulator, driven by the real `ovh` npm client over TLS (sandbox CA trusted through
// configuration, verification on): authentication refusals with OVH's bodies, move tasks and
// their timing, conflicts, every fault kind, and the audit log.
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ovh from 'ovh';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prepareOvhTransport } from '../../activities/ovh/client';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { OvhSimulator, type OvhCredential } from '../../sandbox/ovh/simulator';
import { ovhSignature } from '../../sandbox/ovh/signature';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';

const IP = '203.0.113.10';
const IP_PATH = `/ip/${encodeURIComponent(`${IP}/32`)}`;
const SRV_A = 'ns5001.ip-10-0-0.eu';
const SRV_B = 'ns5002.ip-10-0-0.eu';
const SRV_C = 'ns5003.ip-10-0-0.eu';
/** Without configurable network interfaces: joins a vRack by the legacy call. */
const LEGACY = 'ns4001.ip-10-0-1.eu';
const VRACK = 'pn-100001';
const CRED: OvhCredential = { applicationKey: 'sbx-app-key-0001', applicationSecret: 'sbx-app-secret-s3cr3t-0001', consumerKey: 'sbx-consumer-key-s3cr3t-0001' };
const MOVE_MS = 300;

interface Rejection {
  error: unknown;
  message?: string | null;
}

let dir: string;
let ca: SandboxCa;
let sim: OvhSimulator;
let audit: AuditLog;
let faults: FaultInjector;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovh-sim-'));
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
    credentials: [CRED],
    failoverIps: [{ ip: IP, routedTo: SRV_A }],
    dedicatedServers: [{ serviceName: SRV_A }, { serviceName: SRV_B }, { serviceName: SRV_C }, { serviceName: LEGACY, networkInterfaces: 'legacy' }],
    vracks: [{ serviceName: VRACK, dedicatedServers: [SRV_A] }],
    latency: { moveMs: MOVE_MS, vrackTaskMs: 100, rebootMs: 100 },
  });
  await prepareOvhTransport({ endpoint: sim.endpoint, caFile: ca.certFile });
});

afterEach(async () => {
  await sim.stop();
});

function client(over: Partial<{ appKey: string; appSecret: string; consumerKey: string; timeout: number }> = {}) {
  return ovh({
    appKey: CRED.applicationKey,
    appSecret: CRED.applicationSecret,
    consumerKey: CRED.consumerKey,
    host: 'localhost',
    port: sim.port,
    basePath: '/1.0',
    timeout: 5000,
    ...over,
  });
}

/** Polls `condition` (a simulator's state, which changes between event-loop turns) until it holds. */
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejectionOf(p: PromiseLike<unknown>): Promise<Rejection> {
  try {
    await p;
  } catch (err) {
    return err as Rejection;
  }
  throw new Error('the call succeeded');
}

/** A raw signed request, to see the whole answer (status, headers, body) the client hides. */
function raw(method: string, path: string, opts: { appSecret?: string; consumerKey?: string; body?: string } = {}) {
  const target = `/1.0${path}`;
  const body = opts.body ?? '';
  const ts = String(Math.floor(Date.now() / 1000));
  const ck = opts.consumerKey ?? CRED.consumerKey;
  const sig = ovhSignature({ applicationSecret: opts.appSecret ?? CRED.applicationSecret, consumerKey: ck, method, url: `https://localhost${target}`, body, timestamp: ts });
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: 'localhost',
        port: sim.port,
        method,
        path: target,
        ca: ca.certPem,
        agent: false,
        headers: { 'Content-Type': 'application/json', 'X-Ovh-Application': CRED.applicationKey, 'X-Ovh-Consumer': ck, 'X-Ovh-Timestamp': ts, 'X-Ovh-Signature': sig },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface IpTask {
  taskId: number;
  status: string;
  function: string;
  comment: string | null;
  destination: { serviceName: string } | null;
}

async function waitTaskEnd(c: ReturnType<typeof client>, taskId: number): Promise<IpTask> {
  for (let i = 0; i < 200; i++) {
    const t = (await c.requestPromised('GET', `${IP_PATH}/task/${taskId}`)) as IpTask;
    if (!['init', 'todo', 'doing'].includes(t.status)) return t;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`task ${taskId} did not end`);
}

describe('authentication', () => {
  it('answers a wrong application secret with 400 INVALID_SIGNATURE and OVH’s legacy body', async () => {
    const res = await raw('GET', IP_PATH, { appSecret: 'not-the-secret' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ errorCode: 'INVALID_SIGNATURE', httpCode: '400 Bad Request', message: 'Invalid signature' });
    expect(res.headers['x-ovh-queryid']).toMatch(/\S+/);

    const viaClient = await rejectionOf(client({ appSecret: 'not-the-secret' }).requestPromised('GET', IP_PATH));
    expect(viaClient).toEqual({ error: 400, message: 'Invalid signature' });
  });

  it('answers an unknown consumer key with 403 NOT_CREDENTIAL', async () => {
    const res = await raw('GET', IP_PATH, { consumerKey: 'unknown-consumer-key' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text)).toEqual({ errorCode: 'NOT_CREDENTIAL', httpCode: '403 Forbidden', message: 'This credential does not exist' });
    expect(await rejectionOf(client({ consumerKey: 'unknown-consumer-key' }).requestPromised('GET', IP_PATH))).toEqual({ error: 403, message: 'This credential does not exist' });
  });

  it('answers an unknown application key with 403 INVALID_KEY', async () => {
    expect(await rejectionOf(client({ appKey: 'unknown-app-key' }).requestPromised('GET', IP_PATH))).toEqual({ error: 403, message: 'Invalid application key' });
  });

  it('serves /auth/time unsigned as a bare integer', async () => {
    const res = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: 'localhost', port: sim.port, path: '/1.0/auth/time', ca: ca.certPem, agent: false }, (r) => {
        let t = '';
        r.on('data', (c) => (t += c));
        r.on('end', () => resolve(t));
      })
        .on('error', reject)
        .end();
    });
    expect(res).toMatch(/^\d+$/);
    expect(Math.abs(Number(res) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('records a refused mutating call as rejected, without any secret', async () => {
    await rejectionOf(client({ appSecret: 'not-the-secret' }).requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B }));
    const [entry] = audit.entries({ action: 'POST /ip/{ip}/move' });
    expect(entry).toMatchObject({ service: 'ovh', target: IP, outcome: 'rejected', detail: { status: 400, error: 'INVALID_SIGNATURE' } });
    expect(sim.routing(IP)).toBe(SRV_A);
    const log = JSON.stringify(audit.entries());
    expect(log).not.toContain(CRED.applicationSecret);
    expect(log).not.toContain(CRED.consumerKey);
  });
});

describe('failover IPs', () => {
  it('reads an IP by its URL-encoded block or by the bare address', async () => {
    const c = client();
    const byBlock = (await c.requestPromised('GET', IP_PATH)) as { ip: string; routedTo: { serviceName: string } | null; type: string };
    expect(byBlock).toMatchObject({ ip: `${IP}/32`, type: 'failover', routedTo: { serviceName: SRV_A } });
    expect(await c.requestPromised('GET', `/ip/${IP}`)).toEqual(byBlock);
    expect(await rejectionOf(c.requestPromised('GET', `/ip/${encodeURIComponent('203.0.113.99/32')}`))).toEqual({
      error: 404,
      message: 'The requested object (ip = 203.0.113.99/32) does not exist',
    });
  });

  it('moves todo → doing → done, and routedTo changes only at done', async () => {
    sim.setLatency({ moveMs: 1000 }); // a 500 ms "doing" window that 20 ms polls cannot miss
    const c = client();
    const task = (await c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B })) as IpTask;
    expect(task).toMatchObject({ function: 'genericMoveFloatingIp', status: 'todo', destination: { serviceName: SRV_B } });
    expect(sim.routing(IP)).toBe(SRV_A);

    const seen: string[] = [];
    for (let i = 0; i < 200; i++) {
      // Routing first, then the task: if the routing has changed, the task read after it must be done.
      const ip = (await c.requestPromised('GET', IP_PATH)) as { routedTo: { serviceName: string } | null };
      const t = (await c.requestPromised('GET', `${IP_PATH}/task/${task.taskId}`)) as IpTask;
      if (seen[seen.length - 1] !== t.status) seen.push(t.status);
      if (ip.routedTo?.serviceName === SRV_B) expect(t.status).toBe('done');
      else expect(ip.routedTo?.serviceName).toBe(SRV_A);
      if (t.status === 'done') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toEqual(['todo', 'doing', 'done']);
    expect(sim.routing(IP)).toBe(SRV_B);

    expect(audit.entries({ action: 'POST /ip/{ip}/move' })).toMatchObject([{ target: IP, outcome: 'ok', detail: { to: SRV_B, taskId: task.taskId } }]);
    const ended = await audit.waitFor({ action: 'task:genericMoveFloatingIp' }, 5000);
    expect(ended).toMatchObject({ target: IP, outcome: 'ok', detail: { taskId: task.taskId, from: SRV_A, to: SRV_B } });
  });

  it('lists pending move tasks by function and status', async () => {
    sim.setLatency({ moveMs: 3000 });
    const c = client();
    const task = (await c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B })) as IpTask;
    expect(await c.requestPromised('GET', `${IP_PATH}/task`, { function: 'genericMoveFloatingIp', status: 'todo' })).toEqual([task.taskId]);
    expect(await c.requestPromised('GET', `${IP_PATH}/task`, { function: 'genericMoveFloatingIp', status: 'done' })).toEqual([]);
  });

  it('answers 409 to a second move while one is pending', async () => {
    sim.setLatency({ moveMs: 3000 });
    const c = client();
    await c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B });
    const second = await rejectionOf(c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_C }));
    expect(second.error).toBe(409);
    expect(second.message).toMatch(/already in progress/);
    expect(audit.entries({ action: 'POST /ip/{ip}/move', outcome: 'rejected' })).toHaveLength(1);
  });

  it('refuses a move to the server the IP is already on, and to an unknown server', async () => {
    const c = client();
    expect((await rejectionOf(c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_A }))).error).toBe(400);
    expect((await rejectionOf(c.requestPromised('POST', `${IP_PATH}/move`, { to: 'ns9999.unknown.eu' }))).error).toBe(400);
    expect(audit.count({ action: 'POST /ip/{ip}/move', outcome: 'rejected' })).toBe(2);
  });

  it('answers ipCanBeMovedTo with an empty 200 (the client resolves null) or a 400 with a reason', async () => {
    const c = client();
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_B}/ipCanBeMovedTo`, { ip: `${IP}/32` })).toBeNull();
    const refused = await rejectionOf(c.requestPromised('GET', `/dedicated/server/${SRV_A}/ipCanBeMovedTo`, { ip: `${IP}/32` }));
    expect(refused.error).toBe(400);
    expect(refused.message).toMatch(/already routed/);
  });

  it('parks an IP: routedTo becomes null when the task is done', async () => {
    const c = client();
    const task = (await c.requestPromised('POST', `${IP_PATH}/park`)) as IpTask;
    expect((await waitTaskEnd(c, task.taskId)).status).toBe('done');
    expect(sim.routing(IP)).toBeNull();
  });
});

describe('faults', () => {
  it('status: answers the error with OVH’s body and applies nothing', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'status', status: 500 } });
    const res = await raw('POST', `${IP_PATH}/move`, { body: JSON.stringify({ to: SRV_B }) });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ class: 'Server::InternalServerError', message: 'Internal Server Error' });
    expect(res.headers['x-ovh-queryid']).toBeDefined();
    expect(await client().requestPromised('GET', `${IP_PATH}/task`)).toEqual([]);
    expect(audit.entries({ action: 'POST /ip/{ip}/move' })).toMatchObject([{ outcome: 'fault', detail: { fault: 'status', status: 500 } }]);
  });

  it('applyThenStatus: the move is applied although the answer is an error', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'applyThenStatus', status: 500 } });
    const c = client();
    expect(await rejectionOf(c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B }))).toEqual({ error: 500, message: 'Internal Server Error' });
    const ids = (await c.requestPromised('GET', `${IP_PATH}/task`, { function: 'genericMoveFloatingIp' })) as number[];
    expect(ids).toHaveLength(1);
    expect((await waitTaskEnd(c, ids[0])).status).toBe('done');
    expect(sim.routing(IP)).toBe(SRV_B);
    expect(audit.entries({ action: 'POST /ip/{ip}/move' })).toMatchObject([{ outcome: 'fault', detail: { applied: true, taskId: ids[0], status: 500 } }]);
  });

  it('hang: never answers; the client’s timeout gives up, and stop() still closes', async () => {
    const rule = faults.add({ service: 'ovh', method: 'GET', path: '^/ip/[^/]+$', effect: { kind: 'hang' }, times: 2 });
    // A call without any client timeout is held first; while it still waits, the 300 ms
    // client's call is held too and gives up: only its own timeout can have ended it.
    let untimedSettled = false;
    const untimed = rejectionOf(client({ timeout: undefined }).requestPromised('GET', IP_PATH)).finally(() => (untimedSettled = true));
    await until(() => faults.list().find((r) => r.id === rule.id)!.fired === 1);
    const r = await rejectionOf(client({ timeout: 300 }).requestPromised('GET', IP_PATH));
    expect((r.error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(faults.list().find((f) => f.id === rule.id)!.fired, 'the simulator held both calls').toBe(2);
    expect(untimedSettled, 'the call without a timeout still waits').toBe(false);

    // A hung call without any client timeout: stopping the simulator must end it.
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'hang' } });
    const hung = rejectionOf(client({ timeout: undefined }).requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B }));
    await audit.waitFor({ action: 'POST /ip/{ip}/move', outcome: 'fault' }, 5000);
    await sim.stop();
    expect((await hung).error).toBeDefined();
    expect((await untimed).error).toBeDefined();
    expect(sim.routing(IP)).toBe(SRV_A);
  });

  it('reset: cuts the connection without an answer', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'reset' } });
    const r = await rejectionOf(client().requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B }));
    expect((r.error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(audit.entries({ action: 'POST /ip/{ip}/move' })).toMatchObject([{ outcome: 'fault', detail: { fault: 'reset' } }]);
    expect(await client().requestPromised('GET', `${IP_PATH}/task`)).toEqual([]);
  });

  it('taskError: the move is accepted but its task ends in ovhError and routing stays', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'taskError', message: 'destination unreachable' } });
    const c = client();
    const task = (await c.requestPromised('POST', `${IP_PATH}/move`, { to: SRV_B })) as IpTask;
    const end = await waitTaskEnd(c, task.taskId);
    expect(end).toMatchObject({ status: 'ovhError', comment: 'destination unreachable' });
    expect(sim.routing(IP)).toBe(SRV_A);
    expect(await audit.waitFor({ action: 'task:genericMoveFloatingIp' }, 5000)).toMatchObject({ outcome: 'fault', detail: { status: 'ovhError' } });
  });

  it('delay: holds the answer, then answers normally', async () => {
    const rule = faults.add({ service: 'ovh', method: 'GET', path: '^/ip/[^/]+$', effect: { kind: 'delay', ms: 1000 } });
    const c = client();
    const answered: string[] = [];
    const delayed = c.requestPromised('GET', IP_PATH).then((ip) => (answered.push('delayed call'), ip as { routedTo: { serviceName: string } }));
    await until(() => faults.list().find((r) => r.id === rule.id)!.fired === 1);
    // Asked after the delayed call, answered before it: the simulator held the first answer.
    await c.requestPromised('GET', `${IP_PATH}/task`);
    answered.push('call asked after it');
    expect((await delayed).routedTo.serviceName).toBe(SRV_A);
    expect(answered).toEqual(['call asked after it', 'delayed call']);
  });
});

describe('dedicated servers and vRack', () => {
  it('reboots a server through a hardReboot task', async () => {
    sim.setLatency({ rebootMs: 1000 });
    const c = client();
    sim.setServerState(SRV_B, { powerState: 'poweroff' });
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_B}`)).toMatchObject({ name: SRV_B, state: 'ok', powerState: 'poweroff' });
    const task = (await c.requestPromised('POST', `/dedicated/server/${SRV_B}/reboot`)) as { taskId: number; function: string };
    expect(task.function).toBe('hardReboot');
    expect((await rejectionOf(c.requestPromised('POST', `/dedicated/server/${SRV_B}/reboot`))).error).toBe(409);
    await audit.waitFor({ action: 'task:hardReboot', target: SRV_B }, 5000);
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_B}/task/${task.taskId}`)).toMatchObject({ status: 'done' });
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_B}`)).toMatchObject({ powerState: 'poweron' });
  });

  it('adds a legacy server to the vRack when its task is done, then the task is gone (404), and refuses a member', async () => {
    sim.setLatency({ vrackTaskMs: 1000 });
    const c = client();
    expect(await c.requestPromised('GET', `/dedicated/server/${LEGACY}/virtualNetworkInterface`)).toEqual([]);
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/dedicatedServer`)).toEqual([]);
    const task = (await c.requestPromised('POST', `/vrack/${VRACK}/dedicatedServer`, { dedicatedServer: LEGACY })) as { id: number; status: string; targetDomain: string };
    expect(task).toMatchObject({ status: 'todo', targetDomain: LEGACY });
    expect(sim.vrackMembers(VRACK)).not.toContain(LEGACY);
    expect((await rejectionOf(c.requestPromised('POST', `/vrack/${VRACK}/dedicatedServer`, { dedicatedServer: LEGACY }))).error).toBe(409);
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/task/${task.id}`)).toMatchObject({ id: task.id, status: expect.stringMatching(/todo|doing/) });
    await audit.waitFor({ action: 'task:addDedicatedServerToVrack' }, 5000);
    // As on the real API, a finished vRack task vanishes (docs/contracts.md §A.4).
    const gone = await raw('GET', `/vrack/${VRACK}/task/${task.id}`);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.text)).toMatchObject({ class: 'Client::NotFound' });
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/task`)).toEqual([]);
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/dedicatedServer`)).toEqual([LEGACY]);
    const again = await rejectionOf(c.requestPromised('POST', `/vrack/${VRACK}/dedicatedServer`, { dedicatedServer: LEGACY }));
    expect(again.error).toBe(400);
    expect(again.message).toMatch(/already in the vRack/);
  });

  it('adds a server with configurable interfaces through its vrack interface; the legacy call is refused for it', async () => {
    const c = client();
    const uuids = (await c.requestPromised('GET', `/dedicated/server/${SRV_B}/virtualNetworkInterface`)) as string[];
    expect(uuids).toHaveLength(2);
    const vnis = (await Promise.all(uuids.map((u) => c.requestPromised('GET', `/dedicated/server/${SRV_B}/virtualNetworkInterface/${u}`)))) as { uuid: string; mode: string; vrack: string | null; enabled: boolean; serverName: string }[];
    expect(vnis.map((v) => v.mode).sort()).toEqual(['public', 'vrack']);
    const vrackVni = vnis.find((v) => v.mode === 'vrack')!;
    expect(vrackVni).toMatchObject({ enabled: true, vrack: null, serverName: SRV_B });
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_B}/virtualNetworkInterface`, { mode: 'vrack' })).toEqual([vrackVni.uuid]);

    const legacy = await rejectionOf(c.requestPromised('POST', `/vrack/${VRACK}/dedicatedServer`, { dedicatedServer: SRV_B }));
    expect(legacy.error).toBe(400);
    expect(legacy.message).toMatch(/dedicatedServerInterface/);

    const task = (await c.requestPromised('POST', `/vrack/${VRACK}/dedicatedServerInterface`, { dedicatedServerInterface: vrackVni.uuid })) as { id: number; function: string };
    expect(task.function).toBe('addDedicatedServerInterfaceToVrack');
    await audit.waitFor({ action: 'task:addDedicatedServerInterfaceToVrack' }, 5000);
    expect((await raw('GET', `/vrack/${VRACK}/task/${task.id}`)).status).toBe(404);
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/dedicatedServerInterface`)).toContain(vrackVni.uuid);
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/dedicatedServerInterface/${vrackVni.uuid}`)).toEqual({ vrack: VRACK, dedicatedServerInterface: vrackVni.uuid });
    expect(await c.requestPromised('GET', `/dedicated/server/virtualNetworkInterface/${vrackVni.uuid}`)).toMatchObject({ vrack: VRACK, serverName: SRV_B });
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/dedicatedServer`)).toEqual([]);
    expect(sim.vrackMembers(VRACK)).toEqual([SRV_A, SRV_B]);
  });
});
