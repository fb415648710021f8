// The sandbox's TalosSimulator serving its nodes over the Talos API for the real talosctl:
// the same node state and the same fault rules as the stand-in's path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConfigArgs, genConfigArgs, genSecretsArgs, runTalosctl, type TalosctlResult } from '../../activities/talos/talosctl';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { TalosSimulator } from '../../sandbox/talos/simulator';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const found = findRealTalosctl();
const skip = requireInCi(found.missing, 'TalosSimulator over gRPC with the real talosctl');
const title = (name: string) => (skip ? `${name} (skipped: ${found.missing})` : name);

const NODE = '127.10.17.81';

describe.skipIf(skip)('TalosSimulator.serveGrpc with the real talosctl', () => {
  const audit = new AuditLog();
  const faults = new FaultInjector();
  const sim = new TalosSimulator({ audit, faults, lookupNode: (ip) => (ip === NODE ? { running: true, machineKey: 'vm-81' } : undefined), talosVersion: 'v1.10.0' });
  let dir: string;
  const talosctl = (args: string[]): Promise<TalosctlResult> => runTalosctl(found.talosctl!.path, args, { timeoutMs: 60_000, cwd: dir, env: { ...process.env, HOME: dir } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autok8s-talos-sim-grpc-'));
    await sim.serveGrpc([NODE]);
    const secrets = join(dir, 'secrets.yaml');
    expect((await talosctl(genSecretsArgs(secrets))).exitCode).toBe(0);
    const gen = await talosctl(genConfigArgs({ clusterName: 'simgrpc', endpoint: 'https://127.10.17.80:6443', secretsFile: secrets, installDisk: '/dev/sda', kubernetesVersion: 'v1.32.3', talosVersion: 'v1.10.0', outputTypes: ['controlplane'], output: join(dir, 'cp.yaml') }));
    expect(gen.exitCode, gen.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await sim.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(title('refuses to serve a node address that is not loopback'), async () => {
    await expect(sim.serveGrpc(['10.10.0.61'])).rejects.toThrow('not a loopback address');
  });

  it(title('an injected refusal reaches talosctl as its gRPC status, and the retry applies the config'), async () => {
    faults.add({ service: 'talos', method: 'apply-config', path: NODE.replace(/\./g, '\\.'), effect: { kind: 'status', status: 503, message: 'injected: node busy' } });
    const refused = await talosctl(applyConfigArgs({ insecure: true, node: NODE, file: join(dir, 'cp.yaml') }));
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('rpc error: code = Unavailable desc = injected: node busy');
    expect(sim.nodes().find((n) => n.ip === NODE)?.phase).toBe('maintenance');
    expect(audit.entries().filter((e) => e.service === 'talos' && e.action === 'apply-config').map((e) => e.outcome)).toEqual(['fault']);

    const applied = await talosctl(applyConfigArgs({ insecure: true, node: NODE, file: join(dir, 'cp.yaml') }));
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(sim.nodes().find((n) => n.ip === NODE)).toMatchObject({ machineType: 'controlplane', cluster: 'simgrpc' });
  });
});
