// The decisions of the simulated nodes' gRPC front, as pure functions: where apid sends a
// call, what the maintenance service refuses, which roles may call what, how an error text
// becomes a status and a per-node answer, the apply mode reported, the kubeconfig archive.
import { gunzipSync } from 'node:zlib';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { applyModeOf, etcdSnapshotBytes, memberIdHex, nodeMetadata, statusOf, tarGzOneFile } from '../../sandbox/talos/grpc/messages';
import { authorize, maintenanceRefusal, routeOf, RpcError, type Caller } from '../../sandbox/talos/grpc/routing';

const md = (entries: [string, string][]) => {
  const m = new Metadata();
  for (const [k, v] of entries) m.add(k, v);
  return m;
};

describe('routeOf: where apid sends a call', () => {
  const cases: [string, [string, string][], string, ReturnType<typeof routeOf> | string][] = [
    ['no node metadata: the endpoint answers itself', [], '/machine.MachineService/Version', { kind: 'local' }],
    ['`node`: one-to-one to that node', [['node', '127.0.0.2']], '/machine.MachineService/Version', { kind: 'one', target: '127.0.0.2' }],
    ['`nodes` as grpc-go sends it, comma-joined: one-to-many', [['nodes', '127.0.0.2, 127.0.0.3']], '/machine.MachineService/Version', { kind: 'many', targets: ['127.0.0.2', '127.0.0.3'] }],
    ['`nodes` with a single node is still one-to-many', [['nodes', '127.0.0.2']], '/machine.MachineService/Version', { kind: 'many', targets: ['127.0.0.2'] }],
    ['`nodes` on a COSI method is refused', [['nodes', '127.0.0.2']], '/cosi.resource.State/List', 'InvalidArgument: one-2-many proxying is not supported for COSI methods'],
    ['`node` with two values is refused', [['node', '127.0.0.2'], ['node', '127.0.0.3']], '/machine.MachineService/Version', 'InvalidArgument: node metadata must be single-valued'],
  ];
  it.each(cases)('%s', (_name, entries, method, want) => {
    if (typeof want !== 'string') return expect(routeOf(md(entries), method)).toEqual(want);
    try {
      routeOf(md(entries), method);
      expect.unreachable('routeOf should have refused');
    } catch (err) {
      expect(err).toBeInstanceOf(RpcError);
      const { code, details } = (err as RpcError).status;
      expect(`${code}: ${details}`).toBe(want);
    }
  });
});

describe('maintenanceRefusal: what the maintenance service answers', () => {
  const cases: [string, string, string | undefined][] = [
    ['it takes a config', '/machine.MachineService/ApplyConfiguration', undefined],
    ['Version wants the admin role a client without certificate lacks', '/machine.MachineService/Version', 'Unimplemented: API is not implemented in maintenance mode'],
    ['Reset likewise', '/machine.MachineService/Reset', 'Unimplemented: API is not implemented in maintenance mode'],
    ['Bootstrap is not implemented there at all', '/machine.MachineService/Bootstrap', 'Unimplemented: method Bootstrap not implemented'],
    ['the cluster service is not registered', '/cluster.ClusterService/HealthCheck', 'Unimplemented: unknown service cluster.ClusterService'],
    ['resources can be read', '/cosi.resource.State/Get', undefined],
    ['but not written', '/cosi.resource.State/Create', 'PermissionDenied: write access is not allowed'],
  ];
  it.each(cases)('%s', (_name, method, want) => {
    const refusal = maintenanceRefusal(method);
    expect(refusal ? `${refusal.status.code}: ${refusal.status.details}` : undefined).toBe(want);
  });
});

describe('authorize: Talos roles per method', () => {
  const caller = (roles: string[]): Caller => ({ endpoint: '127.0.0.2', maintenance: false, auth: { insecure: false, caFingerprint: 'x' }, roles });
  const cases: [string, string[], string, boolean][] = [
    ['an admin may bootstrap', ['os:admin'], '/machine.MachineService/Bootstrap', true],
    ['a reader may not bootstrap', ['os:reader'], '/machine.MachineService/Bootstrap', false],
    ['a reader may list etcd members', ['os:reader'], '/machine.MachineService/EtcdMemberList', true],
    ['an operator may take an etcd snapshot', ['os:operator'], '/machine.MachineService/EtcdSnapshot', true],
    ['a reader may not take an etcd snapshot', ['os:reader'], '/machine.MachineService/EtcdSnapshot', false],
    ['a certificate without roles may do nothing', [], '/machine.MachineService/Version', false],
    ['a method without a rule wants admin', ['os:operator'], '/machine.MachineService/Upgrade', false],
  ];
  it.each(cases)('%s', (_name, roles, method, allowed) => {
    if (allowed) expect(() => authorize(caller(roles), method)).not.toThrow();
    else expect(() => authorize(caller(roles), method)).toThrow('rpc error: code = PermissionDenied desc = not authorized');
  });
});

describe('statusOf and nodeMetadata: errors as apid reports them per node', () => {
  it('a grpc-go error text gives its code and description', () => {
    expect(statusOf('rpc error: code = AlreadyExists desc = etcd data directory is not empty')).toEqual({ code: 'AlreadyExists', details: 'etcd data directory is not empty' });
  });
  it('a description spanning lines is kept whole', () => {
    expect(statusOf('rpc error: code = InvalidArgument desc = 2 errors occurred:\n\t* a\n\t* b')).toEqual({ code: 'InvalidArgument', details: '2 errors occurred:\n\t* a\n\t* b' });
  });
  it('any other text is an Unknown error', () => {
    expect(statusOf('boom')).toEqual({ code: 'Unknown', details: 'boom' });
  });
  it("a failed node's metadata carries the error text and the numeric status", () => {
    expect(nodeMetadata('127.0.0.3', { code: 'Unavailable', details: 'down' })).toEqual({ hostname: '127.0.0.3', error: 'rpc error: code = Unavailable desc = down', status: { code: 14, message: 'down', details: [] } });
  });
  it("an answering node's metadata is its name only", () => {
    expect(nodeMetadata('127.0.0.2')).toEqual({ hostname: '127.0.0.2' });
  });
});

describe('applyModeOf: the mode an apply reports', () => {
  const cases: [string, string, string, string][] = [
    ['auto without a reboot is no-reboot', 'AUTO', 'Applied configuration without a reboot', 'NO_REBOOT'],
    ['auto that reboots is reboot', 'AUTO', 'Applied configuration with a reboot', 'REBOOT'],
    ['an explicit mode is kept', 'STAGED', 'Staged configuration to be applied after the next reboot', 'STAGED'],
  ];
  it.each(cases)('%s', (_name, requested, details, want) => expect(applyModeOf(requested, details)).toBe(want));
});

describe('byte streams', () => {
  it('the kubeconfig archive is a ustar entry named kubeconfig with the data', () => {
    const tar = gunzipSync(tarGzOneFile('kubeconfig', Buffer.from('apiVersion: v1\n')));
    expect(tar.subarray(0, 10).toString()).toBe('kubeconfig');
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
    expect(tar.subarray(512, 512 + 15).toString()).toBe('apiVersion: v1\n');
    expect(tar.length % 512).toBe(0);
  });
  it('an etcd snapshot is the database and its SHA-256: size % 512 == 32', () => {
    const bytes = etcdSnapshotBytes(Buffer.alloc(4096, 1));
    expect(bytes.length % 512).toBe(32);
  });
  it("talosctl's decimal member ID becomes the simulator's 16 hex digits", () => {
    expect(memberIdHex('255')).toBe('00000000000000ff');
    expect(memberIdHex('18446744073709551615')).toBe('ffffffffffffffff');
  });
});
