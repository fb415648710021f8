// The real talosctl against simulated Talos nodes over the Talos API (gRPC, TLS, apid's
// routing): the command lines are autok8s's own (activities/talos/talosctl.ts builders),
// the configs and talosconfig are what talosctl generates for autok8s, and every answer
// crosses the wire as Talos's protobuf messages. Node addresses are loopback only.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import {
  applyConfigArgs,
  bootstrapArgs,
  etcdSnapshotArgs,
  genConfigArgs,
  genSecretsArgs,
  getMachineStatusManyArgs,
  kubeconfigArgs,
  runTalosctl,
  versionArgs,
  type TalosctlResult,
} from '../../activities/talos/talosctl';
import { issueClientCert, newCa } from '../../sandbox/talos/grpc/certs';
import { TalosGrpcNodes } from '../../sandbox/talos/grpc/nodes';
import { TalosApi } from '../../sandbox/talos/talos-api';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const found = findRealTalosctl();
const skip = requireInCi(found.missing, 'Talos gRPC protocol tests with the real talosctl');
const title = (name: string) => (skip ? `${name} (skipped: ${found.missing})` : name);

// This file's own loopback addresses: each test file serving Talos nodes needs its own.
const CP = '127.10.17.61';
const W1 = '127.10.17.62';
const W2 = '127.10.17.63';
const FRESH = '127.10.17.64';
const ENDPOINT = 'https://127.10.17.60:6443';

describe.skipIf(skip)('the real talosctl against simulated Talos nodes over gRPC', () => {
  const vms = new Map<string, { running: boolean; machineKey: string }>([CP, W1, W2, FRESH].map((ip) => [ip, { running: true, machineKey: `vm-${ip}` }]));
  const audit: { action: string; target: string; outcome: string }[] = [];
  // The nodes' clock moves only when a test moves it: an install lasts until the test says it is over.
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const INSTALL_MS = 60_000;
  const api = new TalosApi({
    lookupNode: (ip) => vms.get(ip),
    audit: (e) => audit.push(e),
    talosVersion: 'v1.10.0',
    timing: { installMs: INSTALL_MS, rebootMs: INSTALL_MS, etcdJoinMs: 1_000, kubeletReadyMs: 1_000 },
    now: () => clock,
  });
  /** Lets the installs and reboots under way finish, and waits for the ports to follow. */
  async function installed(...ips: string[]): Promise<void> {
    clock += INSTALL_MS;
    await nodes.sync();
    await until(`${ips.join(', ')} configured and serving`, () => ips.every(configuredAndServing));
  }
  const nodes = new TalosGrpcNodes({ api, reconcileMs: 25 });
  let dir: string;
  let talosconfig: string;
  const talosctl = (args: string[]): Promise<TalosctlResult> => runTalosctl(found.talosctl!.path, args, { timeoutMs: 60_000, cwd: dir, env: { ...process.env, HOME: dir } });
  const auth = (node: string, endpoint = node) => ({ node, endpoint, talosconfig });

  async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const phaseOf = (ip: string) => api.nodes().find((n) => n.ip === ip)?.phase;
  /** Running with its config, and its port open again after the install reboot. */
  const configuredAndServing = (ip: string) => phaseOf(ip) === 'running' && nodes.listening().includes(ip);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autok8s-talos-grpc-'));
    await nodes.serve([CP, W1, W2, FRESH]);
    const secrets = join(dir, 'secrets.yaml');
    expect((await talosctl(genSecretsArgs(secrets))).exitCode).toBe(0);
    const gen = await talosctl(
      genConfigArgs({ clusterName: 'grpc', endpoint: ENDPOINT, secretsFile: secrets, installDisk: '/dev/sda', kubernetesVersion: 'v1.32.3', talosVersion: 'v1.10.0', outputTypes: ['controlplane', 'worker', 'talosconfig'], output: join(dir, 'out') }),
    );
    expect(gen.exitCode, gen.stderr).toBe(0);
    talosconfig = join(dir, 'out', 'talosconfig');
  }, 120_000);

  afterAll(async () => {
    await nodes.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(title('a maintenance node takes its config over the insecure API, and answers nothing else there'), async () => {
    const version = await talosctl(['version', '--insecure', '-n', CP]);
    expect(version.exitCode).not.toBe(0);
    expect(version.stderr).toContain('rpc error: code = Unimplemented desc = API is not implemented in maintenance mode');

    const dryRun = await talosctl(applyConfigArgs({ insecure: true, node: CP, file: join(dir, 'out', 'controlplane.yaml'), dryRun: true }));
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout + dryRun.stderr).toContain('Node is running in maintenance mode and does not have a config yet.');
    expect(phaseOf(CP)).toBe('maintenance');

    const apply = await talosctl(applyConfigArgs({ insecure: true, node: CP, file: join(dir, 'out', 'controlplane.yaml') }));
    expect(apply.exitCode, apply.stderr).toBe(0);
    expect(api.nodes().find((n) => n.ip === CP)).toMatchObject({ machineType: 'controlplane', cluster: 'grpc' });
  });

  it(title('while it installs its port is closed: a dial is refused'), async () => {
    expect(phaseOf(CP)).toBe('installing');
    await until('the port closed', () => !nodes.listening().includes(CP));
    const r = await talosctl(versionArgs(auth(CP)));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/code = Unavailable .*connect: connection refused/);
  });

  it(title('once configured, the insecure apply is refused at the TLS handshake'), async () => {
    await installed(CP);
    const again = await talosctl(applyConfigArgs({ insecure: true, node: CP, file: join(dir, 'out', 'controlplane.yaml') }));
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain('rpc error: code = Unavailable');
    expect(audit.filter((e) => e.action === 'apply-config' && e.target === CP && e.outcome === 'ok')).toHaveLength(1);
  });

  it(title("autok8s's generated talosconfig is accepted over mTLS"), async () => {
    const r = await talosctl(versionArgs(auth(CP)));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`NODE:\\s+${CP.replace(/\./g, '\\.')}`));
    expect(r.stdout).toMatch(/Server:[\s\S]*Tag:\s+v1\.10\.0/);
  });

  it(title('a client certificate from another CA is refused; one of this CA without the admin role may read but not bootstrap'), async () => {
    const config = parse(readFileSync(talosconfig, 'utf8')) as { context: string; contexts: Record<string, { ca: string; crt: string; key: string }> };
    const context = config.contexts[config.context];
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const withClient = (name: string, cert: { certPem: string; keyPem: string }) => {
      const path = join(dir, name);
      writeFileSync(path, stringify({ ...config, contexts: { [config.context]: { ...context, crt: b64(cert.certPem), key: b64(cert.keyPem) } } }));
      return path;
    };

    const foreign = withClient('talosconfig-foreign', await issueClientCert(await newCa('elsewhere'), ['os:admin']));
    const refused = await talosctl(versionArgs({ node: CP, endpoint: CP, talosconfig: foreign }));
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('rpc error: code = Unavailable');
    expect(refused.stdout).not.toContain('NODE:');

    const osCa = (parseAllDocuments(readFileSync(join(dir, 'out', 'controlplane.yaml'), 'utf8'))[0].toJS() as { machine: { ca: { crt: string; key: string } } }).machine.ca;
    const ca = { crtPem: Buffer.from(osCa.crt, 'base64').toString(), keyPem: Buffer.from(osCa.key, 'base64').toString() };
    const reader = withClient('talosconfig-reader', await issueClientCert(ca, ['os:reader']));
    const read = await talosctl(versionArgs({ node: CP, endpoint: CP, talosconfig: reader }));
    expect(read.exitCode, read.stderr).toBe(0);
    const write = await talosctl(bootstrapArgs({ node: CP, endpoint: CP, talosconfig: reader }));
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toContain('rpc error: code = PermissionDenied desc = not authorized');
    expect(api.bootstrapCount('grpc')).toBe(0);
  });

  it(title("a second bootstrap fails with talosctl's AlreadyExists wording"), async () => {
    const first = await talosctl(bootstrapArgs(auth(CP)));
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await talosctl(bootstrapArgs(auth(CP)));
    expect(second.exitCode).not.toBe(0);
    expect(second.stderr).toContain(`${CP}: rpc error: code = AlreadyExists desc = etcd data directory is not empty`);
    expect(api.bootstrapCount('grpc')).toBe(1);
  });

  it(title('-n over three nodes through one endpoint: one answer per node, the node that is down as a per-node error'), async () => {
    for (const ip of [W1, W2]) {
      const r = await talosctl(applyConfigArgs({ insecure: true, node: ip, file: join(dir, 'out', 'worker.yaml') }));
      expect(r.exitCode, r.stderr).toBe(0);
    }
    await installed(W1, W2);
    vms.get(W2)!.running = false;
    await nodes.sync();

    // Version goes to every node in one call (`nodes` metadata): apid answers for each.
    const version = await talosctl(['version', '-n', [CP, W1, W2].join(','), '-e', CP, '--talosconfig', talosconfig]);
    expect(version.stdout).toMatch(new RegExp(`NODE:\\s+${CP.replace(/\./g, '\\.')}`));
    expect(version.stdout).toMatch(new RegExp(`NODE:\\s+${W1.replace(/\./g, '\\.')}`));
    expect(version.stdout).not.toMatch(new RegExp(`NODE:\\s+${W2.replace(/\./g, '\\.')}`));
    expect(version.stderr).toContain(`* ${W2}: rpc error: code = Unavailable`);

    // What autok8s's health pass runs: one `get` per node through the same endpoint.
    const status = await talosctl(getMachineStatusManyArgs([CP, W1, W2], CP, talosconfig));
    expect(status.exitCode).not.toBe(0);
    const answered = status.stdout
      .split(/\n(?=\{)/)
      .filter((s) => s.trim() !== '')
      .map((s) => JSON.parse(s) as { node: string; spec: { stage: string } });
    expect(answered.map((a) => a.node)).toEqual([CP, W1]);
    expect(answered.every((a) => a.spec.stage === 'running')).toBe(true);
    expect(status.stderr).toContain('rpc error: code = Unavailable');
    vms.get(W2)!.running = true;
  });

  it(title('an etcd snapshot is streamed to a file that talosctl checks as an etcd database'), async () => {
    const path = join(dir, 'etcd.snapshot');
    const r = await talosctl(etcdSnapshotArgs(path, auth(CP)));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`etcd snapshot saved to ${JSON.stringify(path)}`);
    expect(r.stdout).toMatch(/snapshot info: hash [0-9a-f]{8}, revision \d+, total keys \d+/);
    expect(statSync(path).size % 512).toBe(32);
  });

  it(title("the kubeconfig is extracted from the node's archive"), async () => {
    const path = join(dir, 'kubeconfig');
    const r = await talosctl(kubeconfigArgs(path, auth(CP)));
    expect(r.exitCode, r.stderr).toBe(0);
    const kubeconfig = parse(readFileSync(path, 'utf8')) as { clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[]; 'current-context': string };
    const k8sCa = (parseAllDocuments(readFileSync(join(dir, 'out', 'controlplane.yaml'), 'utf8'))[0].toJS() as { cluster: { ca: { crt: string } } }).cluster.ca.crt;
    expect(kubeconfig.clusters[0]).toEqual({ name: 'grpc', cluster: { server: ENDPOINT, 'certificate-authority-data': k8sCa } });
    expect(kubeconfig['current-context']).toBe('admin@grpc');
  });

  it(title('a recreated VM is a fresh node in maintenance mode at the same address'), async () => {
    vms.set(W1, { running: true, machineKey: `vm-${W1}-recreated` });
    await nodes.sync();
    await until('the recreated node serving its maintenance port', () => phaseOf(W1) === 'maintenance' && nodes.listening().includes(W1));
    const dryRun = await talosctl(applyConfigArgs({ insecure: true, node: W1, file: join(dir, 'out', 'worker.yaml'), dryRun: true }));
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout + dryRun.stderr).toContain('Node is running in maintenance mode');
  });
});
