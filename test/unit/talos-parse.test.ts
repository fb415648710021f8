// Parsing talosctl output and classifying its failures, from realistic samples (tables as
// Go's tabwriter pads them, JSON streams as talosctl prints them, error chains as users
// report them in Talos issues).
import { describe, expect, it } from 'vitest';
import { memberPeerIp, parseEtcdMembers } from '../../core/talos/etcd-members';
import { classifyTalosctlFailure, nodeErrorWarning } from '../../core/talos/failure';
import { parseGetMembers, parseJsonStream, parseMachineStatus } from '../../core/talos/resources';
import { parseVersionShort } from '../../core/talos/version';

describe('parseEtcdMembers', () => {
  it('reads the NODE ... LEARNER table of talosctl 1.8 with -n', () => {
    const out = [
      'NODE         ID                 HOSTNAME    PEER URLS                 CLIENT URLS               LEARNER',
      '10.10.0.21   3c4f1d2a9b8e7f60   srv-a-cp    https://10.10.0.21:2380   https://10.10.0.21:2379   false',
      '10.10.0.21   00a1b2c3d4e5f607   srv-b-cp    https://10.10.0.22:2380   https://10.10.0.22:2379   false',
      '10.10.0.21   9f0e1d2c3b4a5968   srv-c-cp    https://10.10.0.23:2380   https://10.10.0.23:2379   true',
      '',
    ].join('\n');
    const rows = parseEtcdMembers(out);
    expect(rows).toEqual([
      { node: '10.10.0.21', id: '3c4f1d2a9b8e7f60', hostname: 'srv-a-cp', peerUrls: ['https://10.10.0.21:2380'], clientUrls: ['https://10.10.0.21:2379'], learner: false },
      { node: '10.10.0.21', id: '00a1b2c3d4e5f607', hostname: 'srv-b-cp', peerUrls: ['https://10.10.0.22:2380'], clientUrls: ['https://10.10.0.22:2379'], learner: false },
      { node: '10.10.0.21', id: '9f0e1d2c3b4a5968', hostname: 'srv-c-cp', peerUrls: ['https://10.10.0.23:2380'], clientUrls: ['https://10.10.0.23:2379'], learner: true },
    ]);
    expect(memberPeerIp(rows[2])).toBe('10.10.0.23');
  });

  it('reads the table without a NODE column and keeps empty cells of an unstarted member', () => {
    // Laid out as Go's tabwriter (padding 3) lays it out: every column but the last padded.
    const rows = [
      ['ID', 'HOSTNAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'],
      ['3c4f1d2a9b8e7f60', 'srv-a-cp', 'https://10.10.0.21:2380', 'https://10.10.0.21:2379', 'false'],
      ['7a6b5c4d3e2f1a0b', '', 'https://10.10.0.24:2380,https://10.20.0.24:2380', '', 'true'],
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)) + 3);
    const out = rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('')).join('\n') + '\n';
    const parsed = parseEtcdMembers(out);
    expect(parsed[0]).toEqual({ id: '3c4f1d2a9b8e7f60', hostname: 'srv-a-cp', peerUrls: ['https://10.10.0.21:2380'], clientUrls: ['https://10.10.0.21:2379'], learner: false });
    expect(parsed[1]).toEqual({ id: '7a6b5c4d3e2f1a0b', hostname: '', peerUrls: ['https://10.10.0.24:2380', 'https://10.20.0.24:2380'], clientUrls: [], learner: true });
  });

  it('pads IDs that older talosctl printed without leading zeros', () => {
    const out = 'NODE         ID               HOSTNAME   PEER URLS                 CLIENT URLS               LEARNER\n10.10.0.21   a1b2c3d4e5f607   srv-b-cp   https://10.10.0.22:2380   https://10.10.0.22:2379   false\n';
    expect(parseEtcdMembers(out)[0].id).toBe('00a1b2c3d4e5f607');
  });

  it('gives no members for empty output (talosctl prints no header without members)', () => {
    expect(parseEtcdMembers('')).toEqual([]);
    expect(parseEtcdMembers('\n')).toEqual([]);
  });

  it('refuses output that is not the members table', () => {
    expect(() => parseEtcdMembers('error getting members: boom\n')).toThrow(/no header line/);
    expect(() => parseEtcdMembers('NODE   ID   HOSTNAME   PEER URLS   CLIENT URLS   LEARNER\n10.10.0.21   zz   a   b   c   false\n')).toThrow(/not hexadecimal/);
  });
});

const MEMBERS_STREAM = `{
    "metadata": {
        "created": "2024-11-20T10:00:00Z",
        "id": "srv-a-cp",
        "namespace": "cluster",
        "owner": "cluster.MemberController",
        "phase": "running",
        "type": "Members.cluster.talos.dev",
        "updated": "2024-11-20T10:01:00Z",
        "version": 3
    },
    "node": "10.10.0.21",
    "spec": {
        "addresses": [
            "10.10.0.21"
        ],
        "controlPlane": {
            "apiServerPort": 6443
        },
        "hostname": "srv-a-cp",
        "machineType": "controlplane",
        "nodeId": "z3PCzjyWnWxtftQqw81mSw",
        "operatingSystem": "Talos (v1.8.3)"
    }
}
{
    "metadata": {
        "id": "srv-a-worker",
        "namespace": "cluster",
        "type": "Members.cluster.talos.dev",
        "version": 1
    },
    "node": "10.10.0.21",
    "spec": {
        "addresses": [
            "10.10.0.31"
        ],
        "hostname": "srv-a-worker",
        "machineType": "worker",
        "nodeId": "q8rTt1ZB0b9Wg1kz6mNnVA",
        "operatingSystem": "Talos (v1.8.3) {with braces \\"and quotes\\"}"
    }
}
`;

describe('JSON streams from talosctl get -o json', () => {
  it('splits concatenated objects (not an array) into typed members', () => {
    const members = parseGetMembers(MEMBERS_STREAM);
    expect(members).toEqual([
      { node: '10.10.0.21', id: 'srv-a-cp', nodeId: 'z3PCzjyWnWxtftQqw81mSw', hostname: 'srv-a-cp', machineType: 'controlplane', addresses: ['10.10.0.21'], operatingSystem: 'Talos (v1.8.3)' },
      { node: '10.10.0.21', id: 'srv-a-worker', nodeId: 'q8rTt1ZB0b9Wg1kz6mNnVA', hostname: 'srv-a-worker', machineType: 'worker', addresses: ['10.10.0.31'], operatingSystem: 'Talos (v1.8.3) {with braces "and quotes"}' },
    ]);
  });

  it('gives nothing for empty output and refuses truncated or foreign text', () => {
    expect(parseJsonStream('')).toEqual([]);
    expect(() => parseJsonStream('{"a": 1}\n{"b": ')).toThrow(/truncated/);
    expect(() => parseJsonStream('{"a": 1}\nWARNING: something\n')).toThrow(/unexpected "W"/);
  });

  it('reads machine status: stage, readiness and unmet conditions', () => {
    const out = `{
    "metadata": { "id": "machine", "namespace": "runtime", "type": "MachineStatuses.runtime.talos.dev", "version": 4 },
    "node": "10.10.0.31",
    "spec": {
        "stage": "running",
        "status": {
            "ready": false,
            "unmetConditions": [
                { "name": "nodeReady", "reason": "node is not ready" }
            ]
        }
    }
}
`;
    expect(parseMachineStatus(out)).toEqual([{ node: '10.10.0.31', stage: 'running', ready: false, unmetConditions: [{ name: 'nodeReady', reason: 'node is not ready' }] }]);
  });
});

describe('parseVersionShort', () => {
  it('reads the client and each server tag', () => {
    const out = 'Client:\nTalos v1.8.3\nServer:\n\tNODE:        10.10.0.21\n\tTag:         v1.8.3\n\tSHA:         6494aced\n\tBuilt:       \n\tGo version:  go1.22.9\n\tOS/Arch:     linux/amd64\n\tEnabled:     RBAC\n\tNODE:        10.10.0.22\n\tTag:         v1.8.2\n';
    expect(parseVersionShort(out)).toEqual({ client: 'v1.8.3', servers: [{ node: '10.10.0.21', tag: 'v1.8.3' }, { node: '10.10.0.22', tag: 'v1.8.2' }] });
  });

  it('reads --client output and the long client form', () => {
    expect(parseVersionShort('Client:\nTalos v1.9.0\n')).toEqual({ client: 'v1.9.0', servers: [] });
    expect(parseVersionShort('Client:\n\tTag:         v1.8.3\n\tSHA:         6494aced\n')).toEqual({ client: 'v1.8.3', servers: [] });
  });
});

describe('classifyTalosctlFailure', () => {
  const dial = (reason: string) => `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.10.0.21:50000: connect: ${reason}"`;
  const cases: { name: string; stderr: string; timedOut?: boolean; kind: string; retryable: boolean }[] = [
    { name: 'a node that is down is retryable', stderr: `error executing bootstrap: ${dial('no route to host')}\n`, kind: 'unreachable', retryable: true },
    { name: 'a node still booting is retryable', stderr: `error getting members: ${dial('connection refused')}\n`, kind: 'unreachable', retryable: true },
    {
      name: 'the proxy reporting a node down is retryable',
      stderr: `error executing bootstrap: 1 error occurred:\n\t* 10.10.0.22: ${dial('i/o timeout')}\n\n\n`,
      kind: 'unreachable',
      retryable: true,
    },
    { name: 'a second bootstrap is AlreadyExists', stderr: 'error executing bootstrap: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n\n\n', kind: 'alreadyExists', retryable: false },
    {
      name: 'an unknown CA (maintenance mode or another cluster) is not retryable, although its code is Unavailable',
      stderr:
        'error executing bootstrap: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority (possibly because of \\"x509: Ed25519 verification failure\\" while trying to verify candidate authority certificate \\"talos\\")"\n',
      kind: 'untrusted',
      retryable: false,
    },
    { name: 'a permission error is not retryable', stderr: 'error getting members: rpc error: code = PermissionDenied desc = not authorized\n', kind: 'untrusted', retryable: false },
    {
      name: 'apply-config --insecure on a configured node says the maintenance API is gone',
      stderr: 'error applying new configuration: rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: remote error: tls: certificate required"\n',
      kind: 'notInMaintenance',
      retryable: false,
    },
    { name: 'an already removed member is NotFound', stderr: '1 error occurred:\n\t* 10.10.0.21: rpc error: code = NotFound desc = etcdserver: member not found\n\n\n', kind: 'notFound', retryable: false },
    {
      name: 'etcd refusing a removal that costs quorum is not retryable',
      stderr: '1 error occurred:\n\t* 10.10.0.21: rpc error: code = Unknown desc = failed to remove member: etcdserver: re-configuration failed due to not enough started members\n\n\n',
      kind: 'quorumRefused',
      retryable: false,
    },
    { name: 'etcd without a leader is retryable', stderr: 'WARNING: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = Unavailable desc = etcdserver: no leader\n\n', kind: 'etcdUnavailable', retryable: true },
    { name: 'a gRPC deadline is retryable', stderr: 'WARNING: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = Unknown desc = context deadline exceeded\n\n', kind: 'timeout', retryable: true },
    { name: 'our own timeout is retryable', stderr: '', timedOut: true, kind: 'timeout', retryable: true },
    { name: 'bootstrap before the node is ready is retryable', stderr: 'error executing bootstrap: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = FailedPrecondition desc = time is not in sync yet\n\n\n', kind: 'notReady', retryable: true },
    { name: 'an unknown flag is a bug, not retryable', stderr: 'unknown flag: --wait-timout\n', kind: 'badRequest', retryable: false },
    { name: 'no endpoints is a bug, not retryable', stderr: 'error constructing client: failed to determine endpoints\n', kind: 'badRequest', retryable: false },
    { name: 'an invalid config is not retryable', stderr: 'error applying new configuration: rpc error: code = InvalidArgument desc = configuration validation failed: 1 error occurred:\n\t* cluster instructions are required\n\n', kind: 'badRequest', retryable: false },
    { name: 'anything else is assumed transient', stderr: 'something odd happened\n', kind: 'unknown', retryable: true },
  ];
  it.each(cases)('$name', ({ stderr, timedOut, kind, retryable }) => {
    const f = classifyTalosctlFailure({ exitCode: timedOut ? null : 1, stderr, timedOut });
    expect(f.kind).toBe(kind);
    expect(f.retryable).toBe(retryable);
  });

  it('summarises with the innermost cause', () => {
    const f = classifyTalosctlFailure({ exitCode: 1, stderr: 'error executing bootstrap: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n\n\n' });
    expect(f.summary).toBe('10.10.0.21: rpc error: code = AlreadyExists desc = etcd data directory is not empty');
  });
});

describe('nodeErrorWarning', () => {
  it('finds the per-node error talosctl 1.8 prints as a warning while exiting 0', () => {
    expect(nodeErrorWarning('WARNING: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = Unknown desc = context deadline exceeded\n\n')).toMatch(/context deadline exceeded/);
    expect(nodeErrorWarning('WARNING: 2 errors occurred:\n\t* a: x\n\t* b: y\n\n')).toMatch(/2 errors/);
  });
  it('ignores stderr without one', () => {
    expect(nodeErrorWarning('')).toBeUndefined();
    expect(nodeErrorWarning('Applied configuration without a reboot\n')).toBeUndefined();
  });
});
