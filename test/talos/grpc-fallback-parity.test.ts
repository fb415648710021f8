// The same scenarios through the real talosctl and through the fallback client of the
// Talos API (sandbox/talos/grpc/client.ts), against the same simulated nodes: both must see
// the same outcome (success, or the same gRPC code). Scenarios run in order; each states
// the node state it needs, made by the steps before it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { applyConfigArgs, bootstrapArgs, etcdMembersArgs, etcdSnapshotArgs, genConfigArgs, genSecretsArgs, getMachineStatusArgs, healthArgs, kubeconfigArgs, runTalosctl, versionArgs } from '../../activities/talos/talosctl';
import type { TalosAnswer, TalosCall } from '../../sandbox/talos/protocol';
import { issueClientCert, newCa } from '../../sandbox/talos/grpc/certs';
import { callTalosApi, type TalosApiTarget } from '../../sandbox/talos/grpc/client';
import { TalosGrpcNodes } from '../../sandbox/talos/grpc/nodes';
import { TalosApi } from '../../sandbox/talos/talos-api';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const found = findRealTalosctl();
const skip = requireInCi(found.missing, 'fallback client parity with the real talosctl');
const title = (name: string) => (skip ? `${name} (skipped: ${found.missing})` : name);

const CP = '127.10.17.141';
const DOWN = '127.10.17.142';
const INSTALL_MS = 60_000;

type Body = TalosCall extends infer C ? (C extends TalosCall ? Omit<C, 'endpoint' | 'node' | 'auth'> : never) : never;

const outcomeOfRun = (r: { exitCode: number | null; stderr: string }) => (r.exitCode === 0 ? 'ok' : (/code = (\w+)/.exec(r.stderr)?.[1] ?? `exit ${r.exitCode}`));
const outcomeOfAnswer = (a: TalosAnswer) => (a.ok ? 'ok' : (/code = (\w+)/.exec(a.failure.message)?.[1] ?? a.failure.message));

describe.skipIf(skip)('the fallback client and the real talosctl see the same outcomes', () => {
  const vms = new Map([CP, DOWN].map((ip) => [ip, { running: true, machineKey: `vm-${ip}` }]));
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const api = new TalosApi({ lookupNode: (ip) => vms.get(ip), audit: () => undefined, talosVersion: 'v1.10.0', timing: { installMs: INSTALL_MS, rebootMs: INSTALL_MS, etcdJoinMs: 1_000, kubeletReadyMs: 1_000 }, now: () => clock });
  const nodes = new TalosGrpcNodes({ api, reconcileMs: 25 });
  let dir: string;
  let talosconfig: string;
  let creds: NonNullable<TalosApiTarget['credentials']>;
  let foreign: { path: string; creds: NonNullable<TalosApiTarget['credentials']> };
  const talosctl = (args: string[]) => runTalosctl(found.talosctl!.path, args, { timeoutMs: 60_000, cwd: dir, env: { ...process.env, HOME: dir } });
  const file = (name: string) => join(dir, 'out', name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autok8s-talos-parity-'));
    await nodes.serve([CP, DOWN]);
    expect((await talosctl(genSecretsArgs(join(dir, 'secrets.yaml')))).exitCode).toBe(0);
    const gen = await talosctl(genConfigArgs({ clusterName: 'parity', endpoint: 'https://127.10.17.140:6443', secretsFile: join(dir, 'secrets.yaml'), installDisk: '/dev/sda', kubernetesVersion: 'v1.32.3', talosVersion: 'v1.10.0', outputTypes: ['controlplane', 'talosconfig'], output: join(dir, 'out') }));
    expect(gen.exitCode, gen.stderr).toBe(0);
    talosconfig = file('talosconfig');
    const config = parse(readFileSync(talosconfig, 'utf8')) as { context: string; contexts: Record<string, { ca: string; crt: string; key: string }> };
    const ctx = config.contexts[config.context];
    const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    creds = { caPem: pem(ctx.ca), crtPem: pem(ctx.crt), keyPem: pem(ctx.key) };
    const other = await issueClientCert(await newCa('elsewhere'), ['os:admin']);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const path = join(dir, 'talosconfig-foreign');
    writeFileSync(path, stringify({ ...config, contexts: { [config.context]: { ...ctx, crt: b64(other.certPem), key: b64(other.keyPem) } } }));
    foreign = { path, creds: { ...creds, crtPem: other.certPem, keyPem: other.keyPem } };
  }, 120_000);

  afterAll(async () => {
    await nodes.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const insecure = (node: string): TalosApiTarget => ({ endpoint: node, node });
  const mtls = (node: string, endpoint = node): TalosApiTarget => ({ endpoint, node, credentials: creds });
  const auth = (node: string, endpoint = node) => ({ node, endpoint, talosconfig });

  interface Scenario {
    name: string;
    /** What puts the nodes in the state the scenario needs (run once, before both clients). */
    setup?: () => Promise<void>;
    real: () => string[];
    fallback: () => [TalosApiTarget, Body];
    want: string;
  }
  const scenarios: Scenario[] = [
    { name: 'Version on a maintenance node', real: () => ['version', '--insecure', '-n', CP], fallback: () => [insecure(CP), { op: 'version' }], want: 'Unimplemented' },
    { name: 'a dry-run apply on a maintenance node', real: () => applyConfigArgs({ insecure: true, node: CP, file: file('controlplane.yaml'), dryRun: true }), fallback: () => [insecure(CP), { op: 'applyConfiguration', configText: readFileSync(file('controlplane.yaml'), 'utf8'), mode: 'auto', dryRun: true }], want: 'ok' },
    {
      name: 'the insecure apply once the node is configured',
      setup: async () => {
        expect((await talosctl(applyConfigArgs({ insecure: true, node: CP, file: file('controlplane.yaml') }))).exitCode).toBe(0);
        clock += INSTALL_MS;
        await nodes.sync();
      },
      real: () => applyConfigArgs({ insecure: true, node: CP, file: file('controlplane.yaml') }),
      fallback: () => [insecure(CP), { op: 'applyConfiguration', configText: readFileSync(file('controlplane.yaml'), 'utf8'), mode: 'auto', dryRun: false }],
      want: 'Unavailable',
    },
    { name: 'Version with the talosconfig', real: () => versionArgs(auth(CP)), fallback: () => [mtls(CP), { op: 'version' }], want: 'ok' },
    { name: 'Version with a client certificate of another CA', real: () => versionArgs({ node: CP, endpoint: CP, talosconfig: foreign.path }), fallback: () => [{ endpoint: CP, node: CP, credentials: foreign.creds }, { op: 'version' }], want: 'Unavailable' },
    { name: 'etcd members before the bootstrap', real: () => etcdMembersArgs(auth(CP)), fallback: () => [mtls(CP), { op: 'etcdMemberList' }], want: 'Unknown' },
    {
      name: 'a second bootstrap',
      setup: async () => expect((await talosctl(bootstrapArgs(auth(CP)))).exitCode).toBe(0),
      real: () => bootstrapArgs(auth(CP)),
      fallback: () => [mtls(CP), { op: 'bootstrap' }],
      want: 'AlreadyExists',
    },
    { name: 'etcd members after it', real: () => etcdMembersArgs(auth(CP)), fallback: () => [mtls(CP), { op: 'etcdMemberList' }], want: 'ok' },
    {
      name: 'the health check of a bootstrapped single control plane',
      setup: async () => {
        clock += 2_000; // its etcd member is a voter and its node ready
      },
      real: () => healthArgs({ ...auth(CP), controlPlaneNodes: [CP], workerNodes: [], waitTimeout: '5s' }),
      fallback: () => [mtls(CP), { op: 'health', controlPlaneNodes: [CP], workerNodes: [] }],
      want: 'ok',
    },
    { name: 'machinestatus', real: () => getMachineStatusArgs(auth(CP)), fallback: () => [mtls(CP), { op: 'get', resource: 'machinestatus' }], want: 'ok' },
    { name: 'an etcd snapshot', real: () => etcdSnapshotArgs(join(dir, `snap-${Date.now()}.db`), auth(CP)), fallback: () => [mtls(CP), { op: 'etcdSnapshot' }], want: 'ok' },
    { name: 'the kubeconfig', real: () => kubeconfigArgs(join(dir, 'kubeconfig'), auth(CP)), fallback: () => [mtls(CP), { op: 'kubeconfig' }], want: 'ok' },
    {
      name: 'a node behind the endpoint whose VM is off',
      setup: async () => {
        vms.get(DOWN)!.running = false;
        await nodes.sync();
      },
      real: () => bootstrapArgs(auth(DOWN, CP)),
      fallback: () => [mtls(DOWN, CP), { op: 'bootstrap' }],
      want: 'Unavailable',
    },
    { name: 'an endpoint whose VM is off', real: () => versionArgs(auth(DOWN)), fallback: () => [mtls(DOWN), { op: 'version' }], want: 'Unavailable' },
  ];

  for (const s of scenarios) {
    it(title(`${s.name}: ${s.want}`), async () => {
      await s.setup?.();
      const real = await talosctl(s.real());
      const [target, body] = s.fallback();
      const answer = await callTalosApi(target, body);
      expect({ real: outcomeOfRun(real), fallback: outcomeOfAnswer(answer) }, `${real.stderr}\n${JSON.stringify(answer)}`).toEqual({ real: s.want, fallback: s.want });
    });
  }

  it(title('the answers carry the same facts: the member IDs, the kubeconfig server, the stage'), async () => {
    const members = await talosctl(etcdMembersArgs(auth(CP)));
    const answer = await callTalosApi(mtls(CP), { op: 'etcdMemberList' });
    expect(answer.ok && (answer.result as { members: { id: string }[] }).members.map((m) => m.id)).toEqual([members.stdout.split('\n')[1].split(/\s+/)[1]]);
    const kube = await callTalosApi(mtls(CP), { op: 'kubeconfig' });
    const k8sCa = (parseAllDocuments(readFileSync(file('controlplane.yaml'), 'utf8'))[0].toJS() as { cluster: { ca: { crt: string } } }).cluster.ca.crt;
    expect(kube.ok && kube.result).toEqual({ clusterName: 'parity', endpoint: 'https://127.10.17.140:6443', k8sCaCrt: k8sCa });
    const health = await callTalosApi(mtls(CP), { op: 'health', controlPlaneNodes: [CP], workerNodes: [DOWN] });
    const checks = health.ok ? (health.result as { checks: { name: string; ok: boolean; detail: string }[] }).checks : [];
    const failing = checks.find((c) => !c.ok);
    expect(failing?.detail).toContain(DOWN);
    const status = await callTalosApi(mtls(CP), { op: 'get', resource: 'machinestatus' });
    expect(status.ok && (status.result as { items: { spec: { stage: string } }[] }).items[0].spec.stage).toBe('running');
  });
});
