// The talosctl stand-in as a command-line program: the refusals and quirks of talosctl 1.8
// that the adapter depends on (or must not be fooled by), and an applied-but-lost bootstrap
// that the adapter's look-before-act turns into "already bootstrapped".
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTalosActivities } from '../../activities/talos/activities';
import { loadSpecFile } from '../../core/spec/load';
import { parseEtcdMembers } from '../../core/talos/etcd-members';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { TalosSimulator } from '../../sandbox/talos/simulator';
import { ROOT } from '../helpers/paths';

const CP = '10.10.0.21';
const WORKER = '10.10.0.31';

let dir: string;
let talosctl: string;
let audit: AuditLog;
let faults: FaultInjector;
let sim: TalosSimulator;
const running = new Map<string, string>();

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(talosctl, args, { cwd: dir, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
const auth = (node: string) => ['-n', node, '-e', node, '--talosconfig', join(dir, 'talosconfig')];

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const phaseOf = (ip: string) => sim.nodes().find((n) => n.ip === ip)?.phase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autok8s-talosctl-'));
  audit = new AuditLog();
  faults = new FaultInjector();
  sim = new TalosSimulator({
    audit,
    faults,
    lookupNode: (ip) => (running.has(ip) ? { running: true, machineKey: running.get(ip)! } : undefined),
    timing: { installMs: 100, rebootMs: 100, etcdJoinMs: 100, kubeletReadyMs: 100 },
  });
  await sim.start();
  talosctl = sim.writeStandIn(join(dir, 'bin'));
});

afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('talosctl stand-in', () => {
  it('writes secrets 0600 and refuses to overwrite them, as talosctl does', async () => {
    expect(await run('gen', 'secrets', '-o', 'secrets.yaml')).toMatchObject({ code: 0 });
    const first = readFileSync(join(dir, 'secrets.yaml'), 'utf8');
    expect(statSync(join(dir, 'secrets.yaml')).mode & 0o777).toBe(0o600);
    const again = await run('gen', 'secrets', '-o', 'secrets.yaml');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`file "${join(dir, 'secrets.yaml')}" already exists, use --force to overwrite`);
    expect(readFileSync(join(dir, 'secrets.yaml'), 'utf8')).toBe(first);
  });

  it('generates configs and a talosconfig from the bundle', async () => {
    const gen = await run('gen', 'config', 'demo', 'https://10.10.0.5:6443', '--with-secrets', 'secrets.yaml', '-o', '.');
    expect(gen.code).toBe(0);
    expect(gen.stderr).toContain(`Created ${join(dir, 'controlplane.yaml')}`);
    const bad = await run('gen', 'config', 'demo', '10.10.0.5:6443', '--with-secrets', 'secrets.yaml', '-t', 'worker', '-o', 'w.yaml');
    expect(bad.code).toBe(1);
  });

  it('refuses what talosctl refuses: unknown flags and commands, bad booleans, missing arguments', async () => {
    expect(await run('etcd', 'members', '--bogus')).toMatchObject({ code: 1, stderr: 'unknown flag: --bogus\n' });
    expect(await run('etcd', 'frobnicate')).toMatchObject({ code: 1 });
    expect((await run('reset', '-n', CP, '--graceful=maybe')).stderr).toMatch(/invalid argument "maybe" for "--graceful" flag/);
    expect((await run('etcd', 'remove-member')).stderr).toMatch(/accepts 1 arg\(s\), received 0/);
  });

  it('answers only for running VMs', async () => {
    const down = await run('apply-config', '--insecure', '-n', CP, '-f', 'controlplane.yaml');
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`error applying new configuration: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${CP}:50000: connect: no route to host"\n`);
  });

  it('behaves like maintenance mode, then like a configured node', async () => {
    running.set(CP, 'cp-1');
    running.set(WORKER, 'w-1');
    expect((await run('version', '--insecure', '-n', CP)).stderr).toContain('error getting version: rpc error: code = Unimplemented desc = API is not implemented in maintenance mode');
    expect((await run('apply-config', '--insecure', '-n', CP, '-f', 'controlplane.yaml', '--mode', 'no-reboot')).stderr).toContain(
      "code = Unimplemented desc = apply configuration --mode='no-reboot' is not supported in maintenance mode",
    );
    expect((await run('etcd', 'members', ...auth(CP))).stderr).toMatch(/x509: certificate signed by unknown authority/);
    expect(await run('apply-config', '--insecure', '-n', CP, '-f', 'controlplane.yaml')).toMatchObject({ code: 0 });
    expect(await run('apply-config', '--insecure', '-n', WORKER, '-f', 'worker.yaml')).toMatchObject({ code: 0 });
    await until(() => phaseOf(CP) === 'running' && phaseOf(WORKER) === 'running');

    expect((await run('apply-config', '--insecure', '-n', CP, '-f', 'controlplane.yaml')).stderr).toContain('remote error: tls: certificate required');
    const dry = await run('apply-config', ...auth(CP), '-f', 'controlplane.yaml', '--dry-run');
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stderr).toContain('Config diff:\n\nNo changes.');
  });

  it('reports a node error of `etcd members` as a WARNING and exits 0 (talosctl 1.8)', async () => {
    const members = await run('etcd', 'members', ...auth(CP));
    expect(members.code).toBe(0);
    expect(members.stdout).toBe('');
    expect(members.stderr).toBe(`WARNING: 1 error occurred:\n\t* ${CP}: rpc error: code = Unknown desc = context deadline exceeded\n\n`);
  });

  it('bootstraps once; a second bootstrap is AlreadyExists; a worker cannot bootstrap', async () => {
    expect((await run('bootstrap', ...auth(WORKER))).stderr).toContain('code = FailedPrecondition desc = bootstrap can only be performed on a control plane node');
    expect(await run('bootstrap', ...auth(CP))).toMatchObject({ code: 0, stderr: '' });
    const again = await run('bootstrap', ...auth(CP));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error executing bootstrap: 1 error occurred:\n\t* ${CP}: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n\n\n`);
    expect(audit.entries({ service: 'talos', action: 'bootstrap' }).map((e) => `${e.target}:${e.outcome}`)).toEqual([`${WORKER}:rejected`, `${CP}:ok`, `${CP}:rejected`]);

    const table = await run('etcd', 'members', ...auth(CP));
    expect(table.stdout).toMatch(/^NODE {9}ID {17}HOSTNAME {11}PEER URLS {17}CLIENT URLS {15}LEARNER\n/);
    expect(parseEtcdMembers(table.stdout)).toEqual([
      { node: CP, id: expect.stringMatching(/^[0-9a-f]{16}$/), hostname: 'talos-10-10-0-21', peerUrls: [`https://${CP}:2380`], clientUrls: [`https://${CP}:2379`], learner: false },
    ]);
  });

  it('prints `get members -o json` as a stream of objects', async () => {
    const out = await run('get', 'members', '-o', 'json', ...auth(CP));
    expect(out.code).toBe(0);
    expect(out.stdout.startsWith('{\n    "metadata": {')).toBe(true);
    expect(out.stdout.match(/^\{$/gm)).toHaveLength(2);
  });
});

describe('an applied-but-lost bootstrap', () => {
  it('is seen on retry as already bootstrapped, never repeated', async () => {
    const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
    const spec: ClusterSpec = { ...fixture, metadata: { name: 'lost' }, talos: { ...fixture.talos, talosctl }, state: { dir: join(dir, 'lost-state') } };
    const activities = createTalosActivities({ pollIntervalMs: 100, apiWaitMs: 10_000 });
    const lostCp = '10.10.0.22';
    running.set(lostCp, 'lost-cp-1');
    await activities.ensureTalosSecrets(spec);
    await activities.renderMachineConfigs(spec);
    await activities.applyMachineConfig(spec, 'srv-b', 'controlPlane');

    faults.add({ service: 'talos', method: 'bootstrap', path: lostCp.replace(/\./g, '\\.'), effect: { kind: 'applyThenStatus', status: 503, message: 'connection reset by peer' } });
    const lost = await activities.bootstrapEtcd(spec, 'srv-b').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(lost?.message).toMatch(/node not reachable/);
    expect(sim.bootstrapCount('lost')).toBe(1);

    expect(await activities.bootstrapEtcd(spec, 'srv-b')).toMatchObject({ bootstrapped: false, alreadyBootstrapped: true });
    expect(sim.bootstrapCount('lost')).toBe(1);
  });
});
