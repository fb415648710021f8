// Pure conversions from the node state machine's answers (protocol.ts TalosResults) to the
// Talos API's own messages (machine.proto, cluster.proto, cosi resource.proto of the pinned
// version; field names as in the .proto, 64-bit integers as decimal strings), and the
// byte streams a node sends (the kubeconfig as a tar.gz, an etcd snapshot).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import type { TalosResults } from '../protocol';

/** A gRPC status as Talos's errors carry it: code name and description. */
export interface RpcStatus {
  code: GrpcCodeName;
  details: string;
}

export type GrpcCodeName =
  | 'Canceled'
  | 'Unknown'
  | 'InvalidArgument'
  | 'DeadlineExceeded'
  | 'NotFound'
  | 'AlreadyExists'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'FailedPrecondition'
  | 'Aborted'
  | 'OutOfRange'
  | 'Unimplemented'
  | 'Internal'
  | 'Unavailable';

/** grpc-go's numeric codes (google.golang.org/grpc/codes). */
export const GRPC_CODES: Record<GrpcCodeName, number> = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
};

/**
 * The status inside an error text as grpc-go formats it ("rpc error: code = X desc = Y"),
 * which is how the node state machine reports refusals; other text is an Unknown error.
 */
export function statusOf(message: string): RpcStatus {
  const m = /^rpc error: code = (\w+) desc = ([\s\S]*)$/.exec(message);
  if (m && m[1] in GRPC_CODES) return { code: m[1] as GrpcCodeName, details: m[2] };
  return { code: 'Unknown', details: message };
}

/** grpc-go's Error() of a status: what apid puts in metadata.error for a node that failed. */
export const statusText = (s: RpcStatus) => `rpc error: code = ${s.code} desc = ${s.details}`;

/** common.Metadata of one node's answer in a one-to-many call (apid's AppendInfo / BuildError). */
export function nodeMetadata(hostname: string, failure?: RpcStatus): Record<string, unknown> {
  if (!failure) return { hostname };
  return { hostname, error: statusText(failure), status: { code: GRPC_CODES[failure.code], message: failure.details, details: [] } };
}

/** ApplyConfigurationRequest.Mode of the answer: what the node did (AUTO resolves to one of the others). */
export function applyModeOf(requested: string, modeDetails: string): string {
  if (requested !== 'AUTO') return requested;
  return /with a reboot/.test(modeDetails) ? 'REBOOT' : 'NO_REBOOT';
}

export function applyConfigurationMessage(result: TalosResults['applyConfiguration'], requestedMode: string, maintenance: boolean): Record<string, unknown> {
  return { warnings: [], mode: maintenance ? 'REBOOT' : applyModeOf(requestedMode, result.modeDetails), mode_details: result.modeDetails };
}

export function etcdMembersMessage(result: TalosResults['etcdMemberList']): Record<string, unknown> {
  return {
    legacy_members: [],
    members: result.members.map((m) => ({ id: BigInt(`0x${m.id}`).toString(), hostname: m.hostname, peer_urls: m.peerUrls, client_urls: m.clientUrls, is_learner: m.learner })),
  };
}

export function versionMessage(result: TalosResults['version'], platform: string): Record<string, unknown> {
  return {
    version: { tag: result.tag, sha: result.sha, built: '', go_version: 'go1.24.2', os: 'linux', arch: 'amd64' },
    platform: { name: platform, mode: platform === 'metal' ? 'metal' : 'cloud' },
    features: { rbac: true },
  };
}

/** The member ID talosctl gives `etcd remove-member`: decimal uint64 in the request, hex in the simulator. */
export const memberIdHex = (id: string) => BigInt(id).toString(16).padStart(16, '0');

// ---- Byte streams ----------------------------------------------------------------------

/** One file in a ustar archive (what helpers.ExtractFileFromTarGz reads), gzipped. */
export function tarGzOneFile(name: string, data: Buffer, mode = 0o600): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => header.write(text.slice(0, length), offset, length, 'utf8');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(data.length, 12), 124, 12);
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  header.fill(' ', 148, 156);
  header.write('0', 156);
  put('ustar', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${octal(sum, 7)}\0`, 148, 8);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return gzipSync(Buffer.concat([header, data, padding, Buffer.alloc(1024)]));
}

/** An admin kubeconfig for the cluster, as `talosctl kubeconfig` extracts it from the node's archive. */
export function kubeconfigYaml(result: TalosResults['kubeconfig'], clientCert: { certPem: string; keyPem: string }): string {
  const user = `admin@${result.clusterName}`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: result.clusterName, cluster: { server: result.endpoint, 'certificate-authority-data': result.k8sCaCrt } }],
      users: [{ name: user, user: { 'client-certificate-data': b64(clientCert.certPem), 'client-key-data': b64(clientCert.keyPem) } }],
      contexts: [{ context: { cluster: result.clusterName, namespace: 'default', user }, name: user }],
      'current-context': user,
    },
    { lineWidth: 0 },
  );
}

/**
 * etcd snapshot bytes as etcd streams them: the backend database (a bbolt file, whole
 * pages) followed by its SHA-256, which is what talosctl checks (size % 512 == 32) before
 * it opens the database.
 */
export function etcdSnapshotBytes(database: Buffer): Buffer {
  return Buffer.concat([database, createHash('sha256').update(database).digest()]);
}

/** Splits bytes into the chunks a node streams (common.Data). */
export function* chunks(data: Buffer, size = 32 * 1024): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}
