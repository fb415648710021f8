// etcd membership and health over the Talos API with the real talosctl: three control
// planes bootstrapped and joined, the member list as talosctl prints it, etcd's refusals
// (unknown member, no quorum) in Talos's words, `get members`, and the server-side health
// check `talosctl health` runs. Loopback node addresses of this file only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEtcdMembers } from '../../core/talos/etcd-members';
import {
  applyConfigArgs,
  bootstrapArgs,
  etcdLeaveArgs,
  etcdMembersArgs,
  etcdRemoveMemberArgs,
  genConfigArgs,
  genSecretsArgs,
  getMembersArgs,
  healthArgs,
  resetArgs,
  runTalosctl,
  type TalosctlResult,
} from '../../activities/talos/talosctl';
import { TalosGrpcNodes } from '../../sandbox/talos/grpc/nodes';
import { TalosApi } from '../../sandbox/talos/talos-api';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const found = findRealTalosctl();
const skip = requireInCi(found.missing, 'Talos gRPC etcd tests with the real talosctl');
const title = (name: string) => (skip ? `${name} (skipped: ${found.missing})` : name);

const CPS = ['127.10.17.71', '127.10.17.72', '127.10.17.73'];
const ENDPOINT = 'https://127.10.17.70:6443';
const STEP_MS = 60_000;

describe.skipIf(skip)('etcd and health over the Talos API with the real talosctl', () => {
  const vms = new Map(CPS.map((ip) => [ip, { running: true, machineKey: `vm-${ip}` }]));
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const api = new TalosApi({ lookupNode: (ip) => vms.get(ip), audit: () => undefined, talosVersion: 'v1.10.0', timing: { installMs: STEP_MS, rebootMs: STEP_MS, etcdJoinMs: STEP_MS, kubeletReadyMs: STEP_MS }, now: () => clock });
  const nodes = new TalosGrpcNodes({ api, reconcileMs: 25 });
  let dir: string;
  let talosconfig: string;
  const talosctl = (args: string[]): Promise<TalosctlResult> => runTalosctl(found.talosctl!.path, args, { timeoutMs: 60_000, cwd: dir, env: { ...process.env, HOME: dir } });
  const auth = (node: string) => ({ node, endpoint: node, talosconfig });
  async function advance(): Promise<void> {
    clock += STEP_MS;
    await nodes.sync();
    const deadline = Date.now() + 15_000;
    while (!CPS.every((ip) => !vms.get(ip)!.running || nodes.listening().includes(ip))) {
      if (Date.now() > deadline) throw new Error('ports did not follow the nodes');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autok8s-talos-etcd-'));
    await nodes.serve(CPS);
    const secrets = join(dir, 'secrets.yaml');
    expect((await talosctl(genSecretsArgs(secrets))).exitCode).toBe(0);
    const out = join(dir, 'out');
    const gen = await talosctl(genConfigArgs({ clusterName: 'etcd3', endpoint: ENDPOINT, secretsFile: secrets, installDisk: '/dev/sda', kubernetesVersion: 'v1.32.3', talosVersion: 'v1.10.0', outputTypes: ['controlplane', 'talosconfig'], output: out }));
    expect(gen.exitCode, gen.stderr).toBe(0);
    talosconfig = join(out, 'talosconfig');
    for (const ip of CPS) expect((await talosctl(applyConfigArgs({ insecure: true, node: ip, file: join(out, 'controlplane.yaml') }))).exitCode).toBe(0);
    await advance(); // installed
    expect((await talosctl(bootstrapArgs(auth(CPS[0])))).exitCode).toBe(0);
    await advance(); // the others join as learners
    await advance(); // and are promoted
  }, 120_000);

  afterAll(async () => {
    await nodes.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(title('etcd members lists the three voters in the table autok8s parses'), async () => {
    const r = await talosctl(etcdMembersArgs(auth(CPS[1])));
    expect(r.exitCode, r.stderr).toBe(0);
    const members = parseEtcdMembers(r.stdout);
    expect(members.map((m) => m.hostname).sort()).toEqual(CPS.map((ip) => `talos-${ip.replace(/\./g, '-')}`).sort());
    expect(members.every((m) => !m.learner)).toBe(true);
    expect(members.map((m) => m.id).sort()).toEqual(api.etcdMembers('etcd3').map((m) => m.id).sort());
  });

  it(title("get members answers Talos's Member resources as JSON"), async () => {
    const r = await talosctl(getMembersArgs(auth(CPS[0])));
    expect(r.exitCode, r.stderr).toBe(0);
    const items = r.stdout
      .split(/\n(?=\{)/)
      .filter((s) => s.trim() !== '')
      .map((s) => JSON.parse(s) as { node: string; metadata: { type: string }; spec: { addresses: string[]; machineType: string } });
    expect(items.map((i) => i.spec.addresses[0]).sort()).toEqual([...CPS].sort());
    expect(items.every((i) => i.metadata.type === 'Members.cluster.talos.dev' && i.spec.machineType === 'controlplane' && i.node === CPS[0])).toBe(true);
  });

  it(title('the server-side health check passes, check by check'), async () => {
    const r = await talosctl(healthArgs({ ...auth(CPS[0]), controlPlaneNodes: CPS, workerNodes: [], waitTimeout: '20s' }));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('waiting for etcd to be healthy: OK');
    expect(r.stderr).toContain('waiting for all k8s nodes to report ready: OK');
  });

  it(title('removing a member that does not exist is NotFound'), async () => {
    const r = await talosctl(etcdRemoveMemberArgs('00000000000000ff', auth(CPS[0])));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('rpc error: code = NotFound desc = etcdserver: member not found');
    expect(api.etcdMembers('etcd3')).toHaveLength(3);
  });

  it(title("a graceful reset as autok8s drains a node (--wait, no --reboot) leaves etcd and is followed until the node's services stop"), async () => {
    const r = await talosctl(resetArgs(auth(CPS[2]), { graceful: true, reboot: false, wait: true }));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('events check condition met');
    expect(api.etcdMembers('etcd3').map((m) => m.ip).sort()).toEqual([CPS[0], CPS[1]]);
    expect(api.nodes().find((n) => n.ip === CPS[2])?.phase).toBe('resetting');
  });

  it(title('with one of the two members left down, leave is refused for lack of quorum and health fails'), async () => {
    vms.get(CPS[1])!.running = false;
    await nodes.sync();
    const leave = await talosctl(etcdLeaveArgs(auth(CPS[0])));
    expect(leave.exitCode).not.toBe(0);
    expect(leave.stderr).toContain('failed to leave cluster: etcdserver: no leader');
    expect(api.etcdMembers('etcd3')).toHaveLength(2);

    const health = await talosctl(healthArgs({ ...auth(CPS[0]), controlPlaneNodes: CPS.slice(0, 2), workerNodes: [], waitTimeout: '1s' }));
    expect(health.exitCode).not.toBe(0);
    expect(health.stderr).toContain('waiting for etcd to be healthy: etcdserver: no leader');
    expect(health.stderr).toContain('DeadlineExceeded');
  });
});
