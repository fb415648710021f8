// The two ways the sandbox's `talosctl` runs the stand-in must be indistinguishable to a
// caller: the Go forwarder (the stand-in runs inside the sandbox process, through the
// simulator's /exec route) and the node bundle (a Node process per call, forced with
// AUTOK8S_TALOSCTL_TRANSPORT=node). Same stdout, stderr, exit code and files, against the
// same simulator; and the forwarder's word when the simulator is gone.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { FORWARDER_BINARY, TalosSimulator, TRANSPORT_ENV } from '../../sandbox/talos/simulator';
import { requireInCi } from '../helpers/prerequisites';

const FORWARDER_SOURCE = join(__dirname, '..', '..', 'sandbox', 'talos', 'forwarder', 'main.go');

const CP = '10.10.0.41';
const DOWN = '10.10.0.49';

type Result = { code: number; stdout: string; stderr: string };

function run(talosctl: string, cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(talosctl, args, { cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Writes a stand-in with the transport forced to node, or left to the default. */
function writeStandIn(sim: TalosSimulator, dir: string, forceNode: boolean): string {
  const before = process.env[TRANSPORT_ENV];
  if (forceNode) process.env[TRANSPORT_ENV] = 'node';
  else delete process.env[TRANSPORT_ENV];
  try {
    return sim.writeStandIn(dir);
  } finally {
    if (before === undefined) delete process.env[TRANSPORT_ENV];
    else process.env[TRANSPORT_ENV] = before;
  }
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Why the sandbox would not use the forwarder (it never runs a build older than its source), or undefined. */
function forwarderProblem(): string | undefined {
  if (!existsSync(FORWARDER_BINARY)) return `${FORWARDER_BINARY} is not built (run \`npm run prepare\` with Go on PATH)`;
  if (statSync(FORWARDER_BINARY).mtimeMs < statSync(FORWARDER_SOURCE).mtimeMs) return `${FORWARDER_BINARY} is older than ${FORWARDER_SOURCE} (run \`npm run prepare\` with Go on PATH)`;
  return undefined;
}
const missingForwarder = forwarderProblem();
const skipReason = missingForwarder ? ` (skipped: ${missingForwarder})` : '';

describe.skipIf(requireInCi(missingForwarder, 'the talosctl transports tier'))(`talosctl transports: Go forwarder and node bundle agree${skipReason}`, () => {
  let dir: string;
  let work: string;
  let forwarder: string;
  let bundle: string;
  let faults: FaultInjector;
  let sim: TalosSimulator;
  const running = new Map<string, string>();
  const phaseOf = (ip: string) => sim.nodes().find((n) => n.ip === ip)?.phase;

  /** Runs the same command line through both; returns the forwarder's result after checking they agree. */
  async function both(args: string[], opts: { env?: NodeJS.ProcessEnv; cleanup?: () => void } = {}): Promise<Result> {
    const viaForwarder = await run(forwarder, work, args, opts);
    opts.cleanup?.();
    const viaBundle = await run(bundle, work, args, opts);
    opts.cleanup?.();
    expect(viaForwarder, `talosctl ${args.join(' ')}`).toEqual(viaBundle);
    return viaForwarder;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autok8s-transports-'));
    work = join(dir, 'work');
    mkdirSync(work);
    faults = new FaultInjector();
    sim = new TalosSimulator({
      audit: new AuditLog(),
      faults,
      lookupNode: (ip) => (running.has(ip) ? { running: true, machineKey: running.get(ip)! } : undefined),
      timing: { installMs: 100, rebootMs: 100, etcdJoinMs: 100, kubeletReadyMs: 100 },
    });
    await sim.start();
    bundle = writeStandIn(sim, join(dir, 'node-bin'), true);
    expect(sim.standInTransport).toBe('node-bundle');
    forwarder = writeStandIn(sim, join(dir, 'go-bin'), false);
    expect(sim.standInTransport).toBe('go-forwarder');
    expect(readFileSync(forwarder, 'utf8')).toContain(FORWARDER_BINARY);
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad command lines the same way', async () => {
    expect(await both([])).toMatchObject({ code: 1 });
    expect(await both(['etcd', 'members', '--bogus'])).toEqual({ code: 1, stdout: '', stderr: 'unknown flag: --bogus\n' });
    expect((await both(['reset', '-n', CP, '--graceful=maybe'])).code).toBe(1);
    expect((await both(['version', '--client'])).stdout).toContain('Client:\n\tTag:         v1.8.3\n');
  });

  it('writes local files relative to the caller, with the same modes and messages', async () => {
    const secrets = join(work, 'secrets.yaml');
    // Each transport writes the file afresh; the mode is checked before the cleanup.
    const modes: number[] = [];
    await both(['gen', 'secrets', '-o', 'secrets.yaml'], {
      cleanup: () => {
        modes.push(statSync(secrets).mode & 0o777);
        rmSync(secrets);
      },
    });
    expect(modes).toEqual([0o600, 0o600]);
    await run(forwarder, work, ['gen', 'secrets', '-o', 'secrets.yaml']);
    expect((await both(['gen', 'secrets', '-o', 'secrets.yaml'])).stderr).toContain(`file "${secrets}" already exists`);

    // An error from the file system names the path as the caller gave it.
    const missing = await both(['gen', 'config', 'demo', 'https://10.10.0.5:6443', '--with-secrets', 'nope.yaml']);
    expect(missing.stderr).toContain("open 'nope.yaml'");
    expect(missing.code).toBe(1);

    // One type to stdout: the same YAML from the same secrets.
    const cp = await both(['gen', 'config', 'demo', 'https://10.10.0.5:6443', '--with-secrets', 'secrets.yaml', '-t', 'controlplane', '-o', '-']);
    expect(cp.stdout).toContain('type: controlplane');

    const out = join(work, 'out');
    const gen = await both(['gen', 'config', 'demo', 'https://10.10.0.5:6443', '--with-secrets', 'secrets.yaml', '-o', 'out'], { cleanup: () => rmSync(out, { recursive: true }) });
    expect(gen.stderr).toBe(['controlplane.yaml', 'worker.yaml', 'talosconfig'].map((f) => `Created ${join(out, f)}\n`).join(''));
    await run(forwarder, work, ['gen', 'config', 'demo', 'https://10.10.0.5:6443', '--with-secrets', 'secrets.yaml', '-o', '.']);
    expect(readdirSync(work).sort()).toEqual(['controlplane.yaml', 'secrets.yaml', 'talosconfig', 'worker.yaml']);
  });

  it('answers node calls the same way, talosconfig from the flag, $TALOSCONFIG or $HOME', async () => {
    expect((await both(['apply-config', '--insecure', '-n', DOWN, '-f', 'controlplane.yaml'])).stderr).toContain('no route to host');
    expect((await both(['apply-config', '--insecure', '-n', CP, '-f', 'missing.yaml'])).stderr).toBe(
      'failed to read configuration from "missing.yaml": open missing.yaml: no such file or directory\n',
    );
    running.set(CP, 'cp-1');
    expect(await run(forwarder, work, ['apply-config', '--insecure', '-n', CP, '-f', 'controlplane.yaml'])).toMatchObject({ code: 0 });
    await until(() => phaseOf(CP) === 'running');

    const auth = ['-n', CP, '-e', CP];
    expect((await both(['etcd', 'members', ...auth, '--talosconfig', 'talosconfig'])).stderr).toContain('WARNING: 1 error occurred');
    const viaEnv = { ...process.env, TALOSCONFIG: 'talosconfig' };
    expect(await run(forwarder, work, ['bootstrap', ...auth], { env: viaEnv })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await both(['bootstrap', ...auth], { env: viaEnv })).stderr).toContain('code = AlreadyExists desc = etcd data directory is not empty');
    await until(() => sim.etcdMembers('demo').length === 1);

    const home = join(dir, 'home');
    mkdirSync(join(home, '.talos'), { recursive: true });
    rmSync(join(home, '.talos', 'config'), { force: true });
    const noConfig = await both(['etcd', 'members', ...auth], { env: { ...process.env, TALOSCONFIG: '', HOME: home } });
    expect(noConfig.stderr).toContain(`failed to open config file "${join(home, '.talos', 'config')}"`);
    const viaHome = { ...process.env, TALOSCONFIG: undefined, HOME: home };
    await run(forwarder, work, ['gen', 'config', 'demo', 'https://10.10.0.5:6443', '--with-secrets', 'secrets.yaml', '-t', 'talosconfig', '-o', join(home, '.talos', 'config')]);
    expect((await both(['etcd', 'members', ...auth], { env: viaHome })).stdout).toMatch(/^NODE +ID +HOSTNAME/);

    const withConfig = [...auth, '--talosconfig', 'talosconfig'];
    expect((await both(['etcd', 'members', ...withConfig])).stdout).toMatch(/^NODE +ID +HOSTNAME/);
    expect((await both(['get', 'members', '-o', 'json', ...withConfig])).stdout).toContain('"metadata"');
    expect((await both(['get', 'members', '-o', 'yaml', ...withConfig])).stdout).toContain('---\n');
    expect((await both(['version', ...withConfig])).stdout).toContain(`\tNODE:        ${CP}\n`);
    await until(() => sim.nodes().find((n) => n.ip === CP)?.ready === true).catch(() => undefined);
    const health = await both(['health', ...withConfig, '--control-plane-nodes', CP, '--wait-timeout', '10s']);
    expect(health.stderr).toContain('waiting for ');

    const kubeconfig = join(work, 'kc');
    mkdirSync(kubeconfig);
    await both(['kubeconfig', 'kc', ...withConfig], { cleanup: () => rmSync(join(kubeconfig, 'kubeconfig'), { force: true }) });
    await run(forwarder, work, ['kubeconfig', 'kc', ...withConfig]);
    expect((await both(['kubeconfig', 'kc', '--merge=false', ...withConfig])).stderr).toContain(join('kc', 'kubeconfig'));
    expect(await both(['kubeconfig', 'kc', '--merge=false', '--force', ...withConfig])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('applies the simulator faults to both (they act on the node calls)', async () => {
    const withConfig = ['-n', CP, '-e', CP, '--talosconfig', 'talosconfig'];
    faults.add({ service: 'talos', method: 'etcd members', path: CP.replace(/\./g, '\\.'), effect: { kind: 'status', status: 503 }, times: 2 });
    expect((await both(['etcd', 'members', ...withConfig])).stderr).toContain('code = Unavailable desc = injected fault (503)');
    faults.add({ service: 'talos', method: 'version', path: CP.replace(/\./g, '\\.'), effect: { kind: 'reset' }, times: 2 });
    expect((await both(['version', ...withConfig])).code).toBe(1);
  });

  it('stops the in-process run when the caller kills its talosctl, as a killed process stops', async () => {
    const withConfig = ['-n', CP, '-e', CP, '--talosconfig', 'talosconfig'];
    const delayed = faults.add({ service: 'talos', method: 'kubeconfig', effect: { kind: 'delay', ms: 800 }, times: 2 });
    for (const talosctl of [forwarder, bundle]) {
      const killed = await run(talosctl, work, ['kubeconfig', 'late-kubeconfig', ...withConfig], { timeoutMs: 200 });
      expect(killed.code).not.toBe(0);
      if (talosctl === forwarder) expect(faults.list().find((r) => r.id === delayed.id)!.fired, "the forwarder's run reached its delayed node call").toBe(1);
    }
    // The killed bundle process can write nothing more; the forwarder's run goes on in the
    // simulator until its delayed node call is answered, and must stop there without writing.
    await sim.execRunsSettled();
    expect(existsSync(join(work, 'late-kubeconfig'))).toBe(false);
  });
});

describe.skipIf(requireInCi(missingForwarder, 'the Go forwarder tier'))(`the Go forwarder without a simulator${skipReason}`, () => {
  it('says the simulator is not running and exits 1, as the node stand-in does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autok8s-transports-down-'));
    try {
      const sim = new TalosSimulator({ audit: new AuditLog(), lookupNode: () => undefined });
      await sim.start();
      const forwarder = writeStandIn(sim, join(dir, 'go-bin'), false);
      const bundle = writeStandIn(sim, join(dir, 'node-bin'), true);
      const url = sim.controlUrl;
      await sim.stop();
      const expected = { code: 1, stdout: '', stderr: `talosctl (sandbox stand-in): the Talos simulator at ${url} is not running\n` };
      expect(await run(forwarder, dir, ['version', '--client'])).toEqual(expected);
      // The node bundle says the same once it has a node to call.
      expect(await run(bundle, dir, ['version', '--insecure', '-n', CP])).toMatchObject({ code: 1, stderr: expect.stringContaining(expected.stderr.trim()) });
      expect(await run(forwarder, dir, ['version', '--insecure', '-n', CP])).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
