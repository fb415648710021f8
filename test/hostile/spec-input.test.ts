// Hostile cluster specs (./spec-cases.ts): injection into every string that reaches a config
// file, a command line, a URL or a Proxmox property string; unbounded and zero values;
// dangerous paths; YAML bombs, huge files, wrong types. Each is refused twice:
//   1. by `autok8s validate -f` as a user runs it: exit 2, the file and the field named;
//   2. by every renderer and builder that takes the field, called directly with the value
//      (as if validation had been skipped): an UnsafeValueError naming the field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { applyConfigArgs, etcdMembersArgs, genConfigArgs, healthArgs, kubeconfigArgs, resolveTalosctlPath } from '../../activities/talos/talosctl';
import { ipPath, serverPath, vrackPath } from '../../activities/ovh/paths';
import { ProxmoxClient } from '../../activities/proxmox/client';
import { desiredVmConfig } from '../../activities/proxmox/vm-plan';
import { sshTargetFor } from '../../activities/ssh/target';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import { lbPublicNic } from '../../core/public-path/lb-nic';
import { lbPublicNetwork } from '../../core/public-path/lb-network';
import { publicProbeUrl } from '../../core/public-path/probe-url';
import { lbConfigFiles } from '../../core/render/lb-files';
import { renderNginxConf } from '../../core/render/nginx';
import { UnsafeValueError } from '../../core/spec/grammar';
import { parseSpec } from '../../core/spec/load';
import { VM_ROLES, type ClusterSpec } from '../../core/spec/schema';
import { clusterEndpoint, talosNodes } from '../../core/talos/nodes';
import { renderNodePatch } from '../../core/talos/patch';
import { createActivities } from '../../activities';
import { runAutok8s } from '../helpers/cli';
import { FIXTURE, HOSTILE_SPECS, type Edit, type HostileSpec, type Sink } from './spec-cases';
import { knownSpecs, refOf } from '../../activities/spec/known-specs';

const VALID = parseSpec(FIXTURE, 'cluster.yaml');

/** Each sink renders or builds everything it would for the whole spec. */
const SINKS: Record<Sink, (spec: ClusterSpec) => void> = {
  keepalived: (spec) => spec.servers.forEach((s) => renderKeepalivedConf(spec, s.name)),
  keepalivedPublic: (spec) =>
    spec.servers.forEach((s, i) => renderKeepalivedConf(spec, s.name, { publicNetwork: lbPublicNetwork(spec, i, { gateway: '198.51.100.254' }) })),
  lbPublicNic: (spec) => spec.servers.forEach((_, i) => lbPublicNic(spec, i, { virtualMac: '02:00:00:ab:cd:ef', linkUp: i === 0 })),
  probeUrl: (spec) => spec.failoverIps.forEach((ip) => publicProbeUrl({ ...spec, publicPath: { ...spec.publicPath!, probeUrl: spec.publicPath?.probeUrl ?? 'http://{ip}/' } }, ip)),
  haproxy: (spec) => spec.servers.forEach((s) => renderHaproxyCfg(spec, s.name)),
  nginx: (spec) => spec.servers.forEach((s) => renderNginxConf(spec, s.name, { upstream: 'workers' })),
  lbFiles: (spec) => spec.servers.forEach((s) => lbConfigFiles(spec, s.name, { gateways: spec.servers.map(() => '198.51.100.254') })),
  proxmoxVm: (spec) => spec.servers.forEach((s) => VM_ROLES.forEach((role) => s.vms[role] && desiredVmConfig(spec, s, role))),
  proxmoxClient: (spec) =>
    spec.servers.forEach((s) => void new ProxmoxClient({ url: s.proxmox.url, node: s.proxmox.node, tokenId: s.proxmox.tokenId, tokenSecret: 'not-a-secret' }).close()),
  talosPatch: (spec) => talosNodes(spec).forEach((n) => renderNodePatch(spec, n.server, n.role)),
  talosGenConfig: (spec) =>
    void genConfigArgs({
      clusterName: spec.metadata.name,
      endpoint: clusterEndpoint(spec),
      secretsFile: '/state/secrets.yaml',
      patches: ['/state/patches/srv-a-cp.yaml'],
      installDisk: spec.talos.installDisk,
      kubernetesVersion: spec.talos.kubernetesVersion,
      talosVersion: spec.talos.version,
      outputTypes: ['controlplane'],
      output: '/state/configs/srv-a-cp.yaml',
    }),
  talosctlPath: (spec) => void resolveTalosctlPath(spec, { env: {} }),
  ovhPaths: (spec) => {
    spec.failoverIps.forEach((ip) => ipPath(ip));
    spec.servers.forEach((s) => serverPath(s.ovhService));
    vrackPath(spec.ovh.vrack);
  },
  sshTarget: (spec) => spec.servers.forEach((s) => sshTargetFor(s)),
};

function edited(edits: Edit[]): string {
  const doc = parseDocument(FIXTURE);
  for (const [path, value] of edits) doc.setIn(path, value);
  return doc.toString({ lineWidth: 0 });
}

/** The valid spec with the hostile values put straight in, as a workflow input that skipped validation would carry them. */
function bypassing(edits: Edit[]): ClusterSpec {
  const spec = structuredClone(VALID) as unknown as Record<string | number, unknown>;
  for (const [path, value] of edits) {
    let here = spec;
    for (const key of path.slice(0, -1)) here = here[key] as Record<string | number, unknown>;
    here[path.at(-1)!] = structuredClone(value);
  }
  return spec as unknown as ClusterSpec;
}

/** The lines after a line break in the hostile string values. */
function injectedLines(edits: Edit[]): string[] {
  return edits.flatMap(([, value]) => (typeof value === 'string' ? value.split(/\r?\n/).slice(1).map((l) => l.trim()).filter(Boolean) : []));
}

/** The refusal names the case's field: exactly, as its tail (builders that see one server), or its list. */
function namesField(refused: string, field: string): boolean {
  return refused === field || field.endsWith(`.${refused}`) || field.replace(/\[\d+\]$/, '') === refused;
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

function specFile(dir: string, c: HostileSpec, i: number): string {
  if (c.file) return c.file;
  const file = join(dir, `hostile-${i}.yaml`);
  writeFileSync(file, c.text ? c.text() : edited(c.edits!));
  return file;
}

const dir = mkdtempSync(join(tmpdir(), 'ak8s-hostile-'));

describe('hostile specs', () => {
  it('are at least 40, and the valid fixture passes every renderer and builder they are tried on', () => {
    expect(HOSTILE_SPECS.length).toBeGreaterThanOrEqual(40);
    for (const sink of Object.keys(SINKS) as Sink[]) expect(() => SINKS[sink](VALID), sink).not.toThrow();
  });

  describe.concurrent('autok8s validate -f refuses each with exit 2, naming the file and the field', () => {
    it.each(HOSTILE_SPECS.map((c, i) => ({ ...c, i })))('$name → $field', async (c) => {
      const file = specFile(dir, c, c.i);
      const { code, signal, stderr } = await runAutok8s(['validate', '-f', file]);
      expect(signal, 'validate must finish by itself').toBeNull();
      expect(code, stderr).toBe(2);
      const line = stderr.split('\n').find((l) => l.includes(` ${c.field}: `));
      expect(line, `no problem names ${c.field}:\n${stderr.slice(0, 2000)}`).toBeDefined();
      expect(line).toContain(file);
      expect(line!.slice(line!.indexOf(` ${c.field}: `) + c.field.length + 3)).toMatch(c.message);
      // A value with a line break is never echoed raw: no line of the output starts with what followed the break.
      for (const injected of injectedLines(c.edits ?? [])) expect(stderr.split('\n').some((l) => l.trim().startsWith(injected))).toBe(false);
    });
  });

  const rendered = HOSTILE_SPECS.flatMap((c) => c.sinks.map((sink) => ({ ...c, sink })));
  describe('renderers and builders refuse each value themselves, naming the field', () => {
    it.each(rendered)('$sink refuses $name', ({ edits, sink, field }) => {
      const thrown = thrownBy(() => SINKS[sink](bypassing(edits!)));
      expect(thrown, `${sink} accepted the value`).toBeInstanceOf(UnsafeValueError);
      const refused = (thrown as UnsafeValueError).field;
      expect(namesField(refused, field), `${sink} named ${refused}, not ${field}: ${(thrown as Error).message}`).toBe(true);
    });
  });
});

describe('talosctl arguments refuse a flag or a host name where an address or a path belongs', () => {
  const target = { node: '10.10.0.21', talosconfig: '/state/talosconfig' };
  const cases: { name: string; build: () => unknown; field: RegExp }[] = [
    { name: 'a node that is a flag', build: () => etcdMembersArgs({ ...target, node: '--insecure' }), field: /talosctl -n/ },
    { name: 'an endpoint that is a host name', build: () => etcdMembersArgs({ ...target, endpoint: 'evil.example' }), field: /talosctl -e/ },
    { name: 'a relative talosconfig', build: () => etcdMembersArgs({ ...target, talosconfig: 'talosconfig' }), field: /talosconfig path/ },
    { name: 'a machine config reached through ..', build: () => applyConfigArgs({ ...target, file: '/state/../etc/shadow' }), field: /machine config path/ },
    { name: 'an insecure apply to a node that is a flag', build: () => applyConfigArgs({ insecure: true, node: '-e=evil', file: '/state/a.yaml' }), field: /talosctl -n/ },
    { name: 'an apply mode with a flag in it', build: () => applyConfigArgs({ ...target, file: '/state/a.yaml', mode: 'auto --insecure' as 'auto' }), field: /--mode/ },
    { name: 'a wait timeout with a flag after it', build: () => healthArgs({ ...target, controlPlaneNodes: ['10.10.0.21'], workerNodes: [], waitTimeout: '10m --debug' }), field: /--wait-timeout/ },
    { name: 'a worker node list with a comma inside one entry', build: () => healthArgs({ ...target, controlPlaneNodes: ['10.10.0.21'], workerNodes: ['10.10.0.31,evil.example'], waitTimeout: '10m' }), field: /--worker-nodes/ },
    { name: 'a kubeconfig path with a newline', build: () => kubeconfigArgs('/state/kube\nconfig', target), field: /kubeconfig path/ },
  ];
  it.each(cases)('$name', ({ build, field }) => {
    const thrown = thrownBy(build);
    expect(thrown).toBeInstanceOf(UnsafeValueError);
    expect((thrown as UnsafeValueError).field).toMatch(field);
  });
});

describe('a worker activity handed an unsafe value', () => {
  it('fails for good (non-retryable UnsafeValue) naming the field, before any request', async () => {
    // A token secret of the right shape, so the activity gets as far as building its Proxmox client.
    const spec = bypassing([[['servers', 0, 'proxmox', 'node'], 'pve-a/../../access']]);
    const activities = createActivities({ secrets: async () => randomUUID(), specs: knownSpecs(spec) });
    const failure = await new MockActivityEnvironment().run(activities.vmStatuses, refOf(spec), 'srv-a').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'UnsafeValue', nonRetryable: true, details: [{ field: 'proxmox.node' }] });
    expect((failure as Error).message).toMatch(/^proxmox\.node: refusing "pve-a\/\.\.\/\.\.\/access"/);
  });
});
