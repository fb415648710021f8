// Every machine config autok8s generates, checked by Talos itself: the real talosctl (the
// pinned build) makes the secrets and the configs through the same activities the worker runs
// (one `gen config` per node with that node's patch), then `talosctl validate --strict` checks
// each in the runtime mode of the platform the spec's image targets (nocloud: cloud mode).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createTalosActivities } from '../../activities/talos/activities';
import { TALOS_RUNTIME_MODE } from '../../core/images/talos-image';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { talosNodes } from '../../core/talos/nodes';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';
import { loopbackNetworkPrefix } from '../../sandbox/node-network';
import { renderSandboxSpec } from '../../sandbox/spec';
import { ROOT } from '../helpers/paths';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const real = findRealTalosctl();
const missing = 'missing' in real ? real.missing : undefined;
const talosctl = real.found?.path ?? '';
const work = mkdtempSync(join(tmpdir(), 'autok8s-validate-'));

function validate(config: string, mode: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(talosctl, ['validate', '--config', config, '--mode', mode, '--strict'], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

/** The specs whose configs are checked: the unit tests' cluster, it on the pinned version with an Image Factory image, and the sandbox's. */
function specs(): { name: string; spec: ClusterSpec }[] {
  const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
  const sandboxFile = join(work, 'sandbox.yaml');
  writeFileSync(
    sandboxFile,
    renderSandboxSpec({
      nodeNetwork: loopbackNetworkPrefix(0), // as the sandbox numbers its nodes
      talosVersion: PINNED_TALOS_VERSION,
      clusterName: 'sandbox',
      ovhEndpoint: 'https://127.0.0.1:8443/1.0',
      caFile: join(work, 'ca.pem'),
      secretsDir: join(work, 'secrets'),
      stateDir: join(work, 'sandbox-state'),
      failoverIps: ['203.0.113.10'],
      servers: ['srv-a', 'srv-b', 'srv-c'].map((name, i) => ({ name, ovhService: `ns${5001 + i}.ip-10-0-0.eu`, proxmoxUrl: `https://127.0.0.1:${8006 + i}`, proxmoxNode: `pve-${name}` })),
    }),
  );
  const withState = (name: string, spec: ClusterSpec): ClusterSpec => ({ ...spec, talos: { ...spec.talos, talosctl }, state: { dir: join(work, name) } });
  return [
    { name: 'the three-server cluster of the unit tests', spec: withState('fixture', fixture) },
    {
      name: `the same on ${PINNED_TALOS_VERSION}, an Image Factory image with the guest agent, on /dev/vda`,
      spec: withState('factory', {
        ...fixture,
        talos: { ...fixture.talos, version: PINNED_TALOS_VERSION, installDisk: '/dev/vda', image: { platform: 'nocloud', schematic: SCHEMATIC, extensions: ['siderolabs/qemu-guest-agent'] } },
      }),
    },
    { name: 'the sandbox cluster', spec: withState('sandbox', loadSpecFile(sandboxFile)) },
  ];
}

describe.skipIf(requireInCi(missing, 'the real talosctl tier'))(`machine configs checked by the real talosctl ${PINNED_TALOS_VERSION}${missing ? ` (skipped: ${missing})` : ''}`, () => {
  // The spec names the real binary; $TALOSCTL (which would win) is left out of the worker's environment.
  const activities = createTalosActivities({ env: { ...process.env, TALOSCTL: '' }, log: () => undefined });

  describe.each(missing ? [] : specs())('$name', ({ spec }) => {
    const mode = TALOS_RUNTIME_MODE[spec.talos.image.platform];

    it(`gives every node a config that \`talosctl validate --mode ${mode} --strict\` accepts`, async () => {
      await activities.ensureTalosSecrets(spec);
      const { configs } = await activities.renderMachineConfigs(spec);
      expect(configs.map((c) => c.hostname).sort()).toEqual(talosNodes(spec).map((n) => n.hostname).sort());
      expect(new Set(configs.map((c) => c.role))).toEqual(new Set(['controlPlane', 'worker']));
      for (const config of configs) {
        const result = await validate(config.path, mode);
        expect({ node: config.hostname, code: result.code, stderr: result.stderr.trim() }).toEqual({ node: config.hostname, code: 0, stderr: '' });
        expect(result.stdout).toContain(`is valid for ${mode} mode`);
        // The patch is in the config Talos checked: its address, its install disk and image.
        const doc = parse(readFileSync(config.path, 'utf8')) as { machine: { type: string; install: { disk: string; image: string }; network: { hostname: string; interfaces: { addresses: string[] }[] } } };
        expect(doc.machine.type).toBe(config.role === 'controlPlane' ? 'controlplane' : 'worker');
        expect(doc.machine.network.hostname).toBe(config.hostname);
        expect(doc.machine.network.interfaces[0].addresses[0]).toBe(`${config.ip}/24`);
        expect(doc.machine.install.disk).toBe(spec.talos.installDisk);
        expect(doc.machine.install.image).toContain(`:${spec.talos.version}`);
      }
    });
  });

  it('and the validator does reject a config it should: a node address that is not a CIDR', async () => {
    const [{ spec }] = specs();
    await activities.ensureTalosSecrets(spec);
    const { configs } = await activities.renderMachineConfigs(spec);
    const doc = parse(readFileSync(configs[0].path, 'utf8')) as { machine: { network: { interfaces: { addresses: string[] }[] } } };
    doc.machine.network.interfaces[0].addresses = ['10.10.0.21/99'];
    const broken = join(work, 'broken.yaml');
    writeFileSync(broken, stringify(doc));
    const result = await validate(broken, TALOS_RUNTIME_MODE.nocloud);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/10\.10\.0\.21\/99/);
  });
});
