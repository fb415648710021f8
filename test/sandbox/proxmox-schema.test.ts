// The Proxmox simulator holds requests to the published API schema
// (sandbox/proxmox/schema/pve-api.json, from the API viewer's apidoc.js): (a) deliberately
// wrong requests are refused as a real node refuses them, naming the parameter, with
// PVE/JSONSchema.pm's wordings; (b) every call the adapters make passes the same check.
import { ANYTHING_POLICY } from '../helpers/policy';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxmoxActivities } from '../../activities/proxmox/activities';
import { ProxmoxClient } from '../../activities/proxmox/client';
import { createSecretResolver } from '../../activities/secrets';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { simulatedGuestProbes } from '../helpers/guest-probes';
import { GUEST_AGENT_EXTENSION } from '../../core/images/talos-image';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { autok8sAcl } from '../../sandbox/proxmox/autok8s-role';
import { SCHEMA_PROVENANCE } from '../../sandbox/proxmox/schema/check';
import { uncheckedFormats } from '../../sandbox/proxmox/schema/formats';
import { ProxmoxSimulator } from '../../sandbox/proxmox/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { ROOT } from '../helpers/paths';
import { pveCall } from './pve-wire';

const NODE = 'pve-a';
const SECRET = '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10';
const TOKEN = { tokenId: 'root@pam!autok8s', secret: SECRET, acl: autok8sAcl({ storage: 'local-lvm', isoStorage: 'local', bridge: 'vmbr1' }) };
const AUTH = `PVEAPIToken=${TOKEN.tokenId}=${SECRET}`;
const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));

let dir: string;
let ca: SandboxCa;
let sim: ProxmoxSimulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-schema-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
  sim = await ProxmoxSimulator.start({
    ca,
    audit: new AuditLog(),
    faults: new FaultInjector(),
    node: NODE,
    tokens: [TOKEN],
    latency: { createMs: 30, startMs: 30, stopMs: 20, destroyMs: 20, bootMs: 60 },
    vms: [{ vmid: 9000, name: 'debian-lb-template', config: { template: '1', scsi0: 'local-lvm:base-9000-disk-0,size=4G', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr1', tags: 'template' } }],
  });
});

afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const good = { vmid: '150', name: 'ok-150', memory: '2048', cores: '2', scsi0: 'local-lvm:16', net0: 'virtio,bridge=vmbr1', ipconfig0: 'ip=10.10.0.50/24,gw=10.10.0.1' };
const create = (change: Record<string, string | undefined>) => Object.fromEntries(Object.entries({ ...good, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;

describe('(a) requests the real API refuses', () => {
  const cases: { name: string; method: string; path: string; params?: Record<string, string>; status: number; reason: string; errors?: Record<string, string> }[] = [
    { name: 'an unknown parameter', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ colour: 'blue' }), status: 400, reason: 'Parameter verification failed.', errors: { colour: 'property is not defined in schema and the schema does not allow additional properties' } },
    { name: 'an integer that is not one', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ cores: 'abc' }), status: 400, reason: 'Parameter verification failed.', errors: { cores: "type check ('integer') failed - got 'abc'" } },
    { name: 'a boolean other than 1/0', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ onboot: 'yes' }), status: 400, reason: 'Parameter verification failed.', errors: { onboot: "type check ('boolean') failed - got 'yes'" } },
    { name: 'a missing required parameter', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ vmid: undefined }), status: 400, reason: 'Parameter verification failed.', errors: { vmid: 'property is missing and it is not optional' } },
    { name: 'a value outside the enumeration', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ ostype: 'linux' }), status: 400, reason: 'Parameter verification failed.', errors: { ostype: "value 'linux' does not have a value in the enumeration 'other, wxp, w2k, w2k3, w2k8, wvista, win7, win8, win10, win11, l24, l26, solaris'" } },
    { name: 'a VMID below the minimum', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ vmid: '99' }), status: 400, reason: 'Parameter verification failed.', errors: { vmid: 'invalid format - value does not look like a valid VM ID\n' } },
    { name: 'a name that is not a DNS name', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ name: 'bad_name' }), status: 400, reason: 'Parameter verification failed.', errors: { name: 'invalid format - value does not look like a valid DNS name\n' } },
    { name: 'a NIC with an unknown key', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ net0: 'virtio,bridge=vmbr1,speed=10' }), status: 400, reason: 'Parameter verification failed.', errors: { net0: 'invalid format - invalid key in comma-separated list property: speed\n' } },
    { name: 'a NIC with an unknown model', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ net0: 'virtio2,bridge=vmbr1' }), status: 400, reason: 'Parameter verification failed.', errors: { net0: expect.stringMatching(/^invalid format - format error\nnet0.model: value 'virtio2' does not have a value in the enumeration 'e1000, /) } },
    { name: 'a multicast MAC', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ net0: 'virtio=01:00:5E:00:00:01,bridge=vmbr1' }), status: 400, reason: 'Parameter verification failed.', errors: { net0: 'invalid format - format error\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n' } },
    { name: 'an ipconfig gateway without an address', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ ipconfig0: 'gw=10.10.0.1' }), status: 400, reason: 'Parameter verification failed.', errors: { ipconfig0: "invalid format - format error\nipconfig0.ip: missing property required by 'ipconfig0.gw'\n" } },
    { name: 'an ipconfig address without a prefix', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ ipconfig0: 'ip=10.10.0.50' }), status: 400, reason: 'Parameter verification failed.', errors: { ipconfig0: 'invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n' } },
    { name: 'a tag with a space-less illegal character', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ tags: 'autok8s;cluster/x' }), status: 400, reason: 'Parameter verification failed.', errors: { tags: 'invalid format - invalid characters in tag\n' } },
    { name: 'a drive index past the last one (scsi0..scsi30)', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ scsi31: 'local-lvm:4' }), status: 400, reason: 'Parameter verification failed.', errors: { scsi31: 'property is not defined in schema and the schema does not allow additional properties' } },
    { name: 'a boot order naming a device that is not one', method: 'POST', path: `/nodes/${NODE}/qemu`, params: create({ boot: 'order=scsi0;disk1' }), status: 400, reason: 'Parameter verification failed.', errors: { boot: "invalid format - format error\nboot.order: invalid format - invalid boot device 'disk1'\n" } },
    { name: 'a stop with a negative timeout', method: 'POST', path: `/nodes/${NODE}/qemu/150/status/stop`, params: { timeout: '-1' }, status: 400, reason: 'Parameter verification failed.', errors: { timeout: 'value must have a minimum value of 0' } },
    { name: 'a clone without its newid', method: 'POST', path: `/nodes/${NODE}/qemu/9000/clone`, params: { name: 'x' }, status: 400, reason: 'Parameter verification failed.', errors: { newid: 'property is missing and it is not optional' } },
    { name: 'a config update deleting a key that is not a config ID', method: 'PUT', path: `/nodes/${NODE}/qemu/150/config`, params: { delete: 'net0;9x' }, status: 400, reason: 'Parameter verification failed.', errors: { delete: "invalid format - invalid configuration ID '9x'\n" } },
    { name: 'a path VMID that is not one', method: 'GET', path: `/nodes/${NODE}/qemu/abc/status/current`, status: 400, reason: 'Parameter verification failed.', errors: { vmid: "type check ('integer') failed - got 'abc'" } },
    { name: 'a method the path does not have', method: 'PATCH', path: `/nodes/${NODE}/qemu/150/config`, status: 501, reason: `Method 'PATCH /nodes/${NODE}/qemu/150/config' not implemented` },
    { name: 'a path the API does not have', method: 'GET', path: `/nodes/${NODE}/vms`, status: 501, reason: `Method 'GET /nodes/${NODE}/vms' not implemented` },
  ];

  it.each(cases)('$name: $status', async ({ method, path, params, status, reason, errors }) => {
    const a = await pveCall({ url: sim.url, caPem: ca.certPem }, method, path, { auth: AUTH, params });
    expect({ status: a.status, reason: a.reason, errors: a.body?.errors }).toEqual({ status, reason, errors });
    expect(a.closed).toBe(true);
    expect(sim.vms().map((v) => v.vmid)).toEqual([9000]);
  });
});

describe('(b) every request the adapters make passes the schema check', () => {
  it('drives every Proxmox activity and client call; the node accepted them all', async () => {
    const [a, ...rest] = fixture.servers;
    const spec: ClusterSpec = { ...fixture, servers: [{ ...a, proxmox: { ...a.proxmox, url: sim.url, node: NODE, tokenSecret: 'env:PVE_A_TOKEN', caFile: ca.certFile, fingerprint: undefined, lbTemplateVmid: 9000 } }, ...rest] };
    // The guests answer when the simulator's VM has booted with the address (no network here); the
    // spec's image lists the guest agent, so bootVm asks the agent too (the ISO has none: it says so).
    const probes = simulatedGuestProbes(() => sim);
    spec.talos = { ...spec.talos, image: { platform: 'nocloud', schematic: 'a'.repeat(64), extensions: [GUEST_AGENT_EXTENSION] } };
    const act = createProxmoxActivities({ secrets: createSecretResolver({ PVE_A_TOKEN: SECRET }, ANYTHING_POLICY), pollIntervalMs: 20, requestTimeoutMs: 10_000, probes });
    const before = sim.schemaChecks(); // what table (a) sent

    await act.checkBootImage(spec, 'srv-a'); // the node's ISOs
    await act.ensureVm(spec, 'srv-a', 'lb'); // clone from the template, then reconcile its config
    await act.ensureVm(spec, 'srv-a', 'controlPlane'); // create
    await act.ensureVm(spec, 'srv-a', 'worker');
    const drifted = structuredClone(spec);
    drifted.servers[0].vms.worker!.cores = 6;
    await act.ensureVm(drifted, 'srv-a', 'worker'); // PUT config with a digest
    await act.bootVm(spec, 'srv-a', 'controlPlane', { timeoutMs: 10_000 });
    await act.rebootVm(spec, 'srv-a', 'controlPlane');
    await act.vmStatus(spec, 'srv-a', 'controlPlane');
    await act.vmStatuses(spec, 'srv-a');
    await act.listClusterVms(spec, 'srv-a');
    await act.stopVm(spec, 'srv-a', 'controlPlane', 'shutdown');
    await act.bootVm(spec, 'srv-a', 'worker', { timeoutMs: 10_000 });
    await act.stopVm(spec, 'srv-a', 'worker', 'stop');
    await act.destroyVm(spec, 'srv-a', 'worker');
    const client = new ProxmoxClient({ url: sim.url, node: NODE, tokenId: TOKEN.tokenId, tokenSecret: SECRET, caPem: ca.certPem });
    try {
      await client.version();
      await client.nextId();
    } finally {
      await client.close();
    }

    const checks = Object.fromEntries(
      Object.entries(sim.schemaChecks())
        .map(([op, c]) => [op, { accepted: c.accepted - (before[op]?.accepted ?? 0), refused: c.refused - (before[op]?.refused ?? 0) }] as const)
        .filter(([, c]) => c.accepted + c.refused > 0),
    );
    const accepted = Object.values(checks).reduce((n, c) => n + c.accepted, 0);
    const refused = Object.entries(checks).filter(([, c]) => c.refused > 0);
    console.log(`proxmox schema check (${SCHEMA_PROVENANCE.source}): ${accepted} adapter requests over ${Object.keys(checks).length} operations passed, ${refused.length} refused; formats not checked: ${uncheckedFormats().join(', ') || 'none'}`);
    expect(refused).toEqual([]);
    // Every operation the client uses was exercised (POST .../config is served, not used).
    expect(Object.keys(checks).sort()).toEqual(
      [
        'GET /version',
        'GET /cluster/nextid',
        'GET /nodes/{node}/qemu',
        'POST /nodes/{node}/qemu',
        'POST /nodes/{node}/qemu/{vmid}/clone',
        'GET /nodes/{node}/qemu/{vmid}/config',
        'PUT /nodes/{node}/qemu/{vmid}/config',
        'GET /nodes/{node}/qemu/{vmid}/status/current',
        'POST /nodes/{node}/qemu/{vmid}/status/start',
        'POST /nodes/{node}/qemu/{vmid}/status/stop',
        'POST /nodes/{node}/qemu/{vmid}/status/shutdown',
        'POST /nodes/{node}/qemu/{vmid}/status/reboot',
        'DELETE /nodes/{node}/qemu/{vmid}',
        'GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces',
        'GET /nodes/{node}/storage/{storage}/content',
        'GET /nodes/{node}/tasks/{upid}/status',
      ].sort(),
    );
  });
});
