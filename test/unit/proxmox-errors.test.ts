// Classification of Proxmox failures, table-style: what retrying can fix, what it cannot,
// which runtime failures mean "already done", and that no message carries the secret.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  classifyProxmoxError,
  ProxmoxHttpError,
  ProxmoxNetworkError,
  ProxmoxTaskError,
  ProxmoxTlsError,
  runtimeConflict,
  type ProxmoxTarget,
} from '../../activities/proxmox/errors';
import { privilegesNeeded } from '../../activities/proxmox/privileges';

const target: ProxmoxTarget = { server: 'srv-a', node: 'pve-a', url: 'https://pve-a.example:8006', tokenId: 'root@pam!autok8s', tokenSecretRef: 'file:/etc/autok8s/pve-a.secret' };
const http = (status: number, reason: string, errors?: Record<string, string>) => new ProxmoxHttpError(status, reason, 'POST', '/nodes/pve-a/qemu', errors);

describe('classifyProxmoxError', () => {
  const cases: { name: string; err: unknown; type: string; nonRetryable: boolean; message: RegExp }[] = [
    { name: '401: bad token, names server, node and token ID and what to check', err: http(401, 'Authentication failed!'), type: 'ProxmoxAuthError', nonRetryable: true, message: /node pve-a of server srv-a .* rejected API token root@pam!autok8s .*file:\/etc\/autok8s\/pve-a.secret/ },
    { name: '403 naming a privilege: the message names it and its path', err: http(403, 'Permission check failed (/vms/102, VM.Allocate)'), type: 'ProxmoxAuthError', nonRetryable: true, message: /lacks privilege VM\.Allocate on \/vms\/102 .*pveum role modify AutoK8s/ },
    { name: '403 naming alternatives: the message names each', err: http(403, 'Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)'), type: 'ProxmoxAuthError', nonRetryable: true, message: /lacks one of Datastore\.AllocateSpace, Datastore\.Audit on \/storage\/local/ },
    { name: 'a bare 403 (a failed "or"): the message names what the call needs', err: http(403, 'Permission check failed'), type: 'ProxmoxAuthError', nonRetryable: true, message: /which needs VM\.Allocate on \/vms\/<vmid>/ },
    { name: '400: parameter errors carry the map', err: http(400, 'Parameter verification failed.', { memory: "type check ('integer') failed - got 'lots'\n" }), type: 'ProxmoxBadRequest', nonRetryable: true, message: /Parameter verification failed\. \(memory: type check \('integer'\) failed - got 'lots'\)/ },
    { name: '501: an unknown path', err: http(501, "Method 'POST /nodes/pve-a/qemu' not implemented"), type: 'ProxmoxNotFound', nonRetryable: true, message: /does not know POST/ },
    { name: '500 for a storage the node lacks: retrying cannot fix it', err: http(500, "storage 'ceph' does not exist"), type: 'ProxmoxSetupError', nonRetryable: true, message: /storage 'ceph' does not exist/ },
    { name: 'other 500s are retried', err: http(500, 'got timeout'), type: 'ProxmoxUnavailable', nonRetryable: false, message: /answered 500 got timeout.*will retry/ },
    { name: '503 is retried', err: http(503, 'Service Unavailable'), type: 'ProxmoxUnavailable', nonRetryable: false, message: /503/ },
    { name: '429 is retried', err: http(429, 'Too Many Requests'), type: 'ProxmoxUnavailable', nonRetryable: false, message: /429/ },
    { name: 'a reset connection is retried', err: new ProxmoxNetworkError('ECONNRESET', 'GET', '/version'), type: 'ProxmoxUnreachable', nonRetryable: false, message: /did not answer GET \/version \(ECONNRESET\)/ },
    { name: 'a timeout is retried', err: new ProxmoxNetworkError('timeout after 30000 ms', 'GET', '/version'), type: 'ProxmoxUnreachable', nonRetryable: false, message: /timeout/ },
    { name: 'a certificate that does not match the pin is refused for good', err: new ProxmoxTlsError('FINGERPRINT_MISMATCH', 'fingerprint AA, not the pinned BB'), type: 'ProxmoxTlsError', nonRetryable: true, message: /not the pinned/ },
    { name: 'a failed task is retried with Proxmox’s message', err: new ProxmoxTaskError('UPID:pve-a:00001000:00100000:65F1A2B3:qmcreate:102:root@pam!autok8s:', 'qmcreate', '102', 'lvcreate failed'), type: 'ProxmoxTaskFailed', nonRetryable: false, message: /qmcreate for VM 102 ended with "lvcreate failed"/ },
    { name: 'a task failing on a missing bridge is not retried', err: new ProxmoxTaskError('UPID:x', 'qmstart', '102', "bridge 'vmbr9' does not exist"), type: 'ProxmoxTaskFailed', nonRetryable: true, message: /retrying will not help/ },
    { name: 'a create failing on an ISO the storage does not hold (qemu-server words it without quotes) is not retried', err: new ProxmoxTaskError('UPID:x', 'qmcreate', '102', 'volume local:iso/talos-nocloud-amd64.iso does not exist'), type: 'ProxmoxTaskFailed', nonRetryable: true, message: /retrying will not help/ },
  ];

  it.each(cases)('$name', ({ err, type, nonRetryable, message }) => {
    const out = classifyProxmoxError(err, target);
    expect(out).toBeInstanceOf(ApplicationFailure);
    const failure = out as ApplicationFailure;
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(nonRetryable);
    expect(failure.message).toMatch(message);
  });

  it('passes ApplicationFailures and unknown errors through unchanged', () => {
    const refusal = ApplicationFailure.nonRetryable('not ours', 'ProxmoxVmConflict');
    expect(classifyProxmoxError(refusal, target)).toBe(refusal);
    const plain = new Error('boom');
    expect(classifyProxmoxError(plain, target)).toBe(plain);
  });

  it('never puts a secret in a message: it only knows the reference', () => {
    const secret = '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10';
    for (const status of [400, 401, 403, 500, 503]) {
      expect(classifyProxmoxError(http(status, 'x'), target).message).not.toContain(secret);
    }
  });
});

describe('runtimeConflict', () => {
  it.each([
    { message: "unable to create VM 102 - VM 102 already exists on node 'pve-a'", kind: 'alreadyExists' },
    { message: 'VM 102 already running', kind: 'alreadyRunning' },
    { message: 'VM 102 not running', kind: 'notRunning' },
    { message: 'VM 102 is running - destroy failed', kind: 'isRunning' },
    { message: "Configuration file 'nodes/pve-a/qemu-server/102.conf' does not exist", kind: 'doesNotExist' },
    { message: 'VM is locked (create)', kind: 'locked' },
    { message: 'QEMU guest agent is not running', kind: 'agentNotRunning' },
    { message: 'VM 102 is not running', kind: 'agentVmNotRunning' },
    { message: 'No QEMU guest agent configured', kind: 'agentNotConfigured' },
    { message: 'got timeout', kind: undefined },
  ])('"$message" → $kind', ({ message, kind }) => {
    expect(runtimeConflict(message)).toBe(kind);
    expect(runtimeConflict(http(500, message))).toBe(kind);
  });

  it('only 500s and task exit statuses are runtime conflicts', () => {
    expect(runtimeConflict(http(400, 'VM 102 already exists'))).toBeUndefined();
    expect(runtimeConflict(new ProxmoxTaskError('UPID:x', 'qmstart', '102', 'VM 102 already running'))).toBe('alreadyRunning');
  });
});

describe('privilegesNeeded', () => {
  it.each([
    { call: 'POST /nodes/pve-a/qemu', needs: /VM\.Allocate on \/vms\/<vmid>.*SDN\.Use/ },
    { call: 'POST /nodes/pve-a/qemu/9000/clone', needs: /VM\.Clone on \/vms\/<template>, VM\.Allocate on \/vms\/<new vmid>/ },
    { call: 'PUT /nodes/pve-a/qemu/102/config', needs: /VM\.Config\.Cloudinit and VM\.Config\.CDROM/ },
    { call: 'GET /nodes/pve-a/qemu', needs: /VM\.Audit/ },
    { call: 'GET /nodes/pve-a/qemu/102/config', needs: /VM\.Audit/ },
    { call: 'GET /nodes/pve-a/qemu/102/status/current', needs: /VM\.Audit/ },
    { call: 'POST /nodes/pve-a/qemu/102/status/shutdown', needs: /VM\.PowerMgmt/ },
    { call: 'DELETE /nodes/pve-a/qemu/102', needs: /VM\.Allocate/ },
    { call: 'GET /nodes/pve-a/qemu/102/agent/network-get-interfaces', needs: /VM\.GuestAgent\.Audit.*VM\.Monitor on 8/ },
    { call: 'GET /nodes/pve-a/tasks/UPID:x/status', needs: /Sys\.Audit on \/nodes\/<node>/ },
  ])('$call needs $needs', ({ call, needs }) => {
    const [method, path] = call.split(' ');
    expect(privilegesNeeded(method, path)).toMatch(needs);
  });

  it('knows nothing of calls autok8s does not make', () => {
    expect(privilegesNeeded('POST', '/nodes/pve-a/lxc')).toBeUndefined();
  });
});
