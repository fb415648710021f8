// Who is calling and where the call goes, as Talos decides it. The caller: a connection
// without a client certificate talks to the maintenance service; one with a certificate
// verified against the node's OS CA carries Talos roles in its organization. The target:
// apid's director reads the `nodes` metadata (one-to-many: every node answers, each answer
// carries its node in metadata, per-node failures become answers with metadata.error) or
// `node` (one-to-one: the answer or error passes through as it is), else the node itself.
// internal/app/apid/pkg/director/director.go, internal/app/apid/pkg/backend/apid.go (v1.10.0).
import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { TalosAuth } from '../protocol';
import type { TalosNodeWire } from '../talos-api';
import { fromBase64, rolesOf } from './certs';
import { GRPC_CODES, type RpcStatus } from './messages';

/** What every kind of server call offers: its metadata and its connection's TLS peer. */
export type SurfaceCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'metadata'>;

export interface Caller {
  /** The node whose port the client dialed (talosctl -e). */
  endpoint: string;
  /** No client certificate: the maintenance service answers. */
  maintenance: boolean;
  auth: TalosAuth;
  roles: string[];
}

export type Route = { kind: 'local' } | { kind: 'one'; target: string } | { kind: 'many'; targets: string[] };

export class RpcError extends Error {
  constructor(readonly status: RpcStatus) {
    super(`rpc error: code = ${status.code} desc = ${status.details}`);
  }
}

export const rpcError = (code: RpcStatus['code'], details: string) => new RpcError({ code, details });

/** What grpc-js sends for an RpcError. */
export const toServiceError = (err: RpcError): Partial<grpc.ServiceError> => ({ code: GRPC_CODES[err.status.code], details: err.status.details });

/** Was `peerDer` signed by the OS CA the node presents now? (A node reconfigured since the handshake has another CA.) */
function issuedBy(peerDer: Buffer, caCrtBase64: string): boolean {
  try {
    return new X509Certificate(peerDer).verify(new X509Certificate(fromBase64(caCrtBase64)).publicKey);
  } catch {
    return false;
  }
}

export function callerOf(call: SurfaceCall, endpoint: string, wire: TalosNodeWire): Caller {
  const peer = call.getAuthContext().sslPeerCertificate?.raw;
  if (!peer) return { endpoint, maintenance: true, auth: { insecure: true }, roles: [] };
  const trusted = wire.serving && wire.mode === 'configured' && issuedBy(peer, wire.osCa.crt);
  return { endpoint, maintenance: false, auth: { insecure: false, caFingerprint: trusted ? wire.caFingerprint : 'untrusted' }, roles: rolesOf(peer) };
}

export function routeOf(metadata: grpc.Metadata, method: string): Route {
  // grpc-go sends `nodes` as one header with the values joined by commas.
  const nodes = metadata
    .get('nodes')
    .flatMap((v) => String(v).split(','))
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const node = metadata.get('node').map(String);
  if (node.length > 1) throw rpcError('InvalidArgument', 'node metadata must be single-valued');
  if (nodes.length > 0) {
    if (method.startsWith('/cosi.')) throw rpcError('InvalidArgument', 'one-2-many proxying is not supported for COSI methods');
    return { kind: 'many', targets: nodes };
  }
  if (node.length === 1) return { kind: 'one', target: node[0] };
  return { kind: 'local' };
}

/** Roles allowed per method (internal/app/machined/pkg/system/services/machined.go rules, v1.10.0). */
const RULES: Record<string, string[]> = {
  '/machine.MachineService/ApplyConfiguration': ['os:admin'],
  '/machine.MachineService/Bootstrap': ['os:admin'],
  '/machine.MachineService/EtcdLeaveCluster': ['os:admin'],
  '/machine.MachineService/EtcdMemberList': ['os:admin', 'os:operator', 'os:reader'],
  '/machine.MachineService/Events': ['os:admin', 'os:operator', 'os:reader'],
  '/machine.MachineService/EtcdRemoveMemberByID': ['os:admin'],
  '/machine.MachineService/EtcdSnapshot': ['os:admin', 'os:operator', 'os:etcd:backup'],
  '/machine.MachineService/Kubeconfig': ['os:admin'],
  '/machine.MachineService/Reset': ['os:admin'],
  '/machine.MachineService/Version': ['os:admin', 'os:operator', 'os:reader'],
  '/cluster.ClusterService/HealthCheck': ['os:admin', 'os:operator', 'os:reader'],
  '/cosi.resource.State/Get': ['os:admin', 'os:operator', 'os:reader'],
  '/cosi.resource.State/List': ['os:admin', 'os:operator', 'os:reader'],
  '/cosi.resource.State/Watch': ['os:admin', 'os:operator', 'os:reader'],
};

/** pkg/grpc/middleware/authz: authorizer.go ErrNotAuthorized. */
export function authorize(caller: Caller, method: string): void {
  const allowed = RULES[method] ?? ['os:admin'];
  if (!caller.roles.some((r) => allowed.includes(r))) throw rpcError('PermissionDenied', 'not authorized');
}

/**
 * What the maintenance service answers for `method` (internal/app/maintenance/server.go,
 * v1.10.0): undefined when it serves the call, else its refusal. ApplyConfiguration is
 * served; Version, Reset, Upgrade and the META calls want the admin role, which a client
 * without a certificate never has; MachineService methods it does not implement answer
 * grpc-go's "method X not implemented"; ClusterService is not registered at all. COSI State
 * is served (read-only, resource access policy applied by the node).
 */
export function maintenanceRefusal(method: string): RpcError | undefined {
  const [, service, name] = /^\/([^/]+)\/(.+)$/.exec(method) ?? [];
  if (service === 'machine.MachineService') {
    if (name === 'ApplyConfiguration') return undefined;
    if (['Version', 'Reset', 'Upgrade', 'MetaWrite', 'MetaDelete'].includes(name)) return rpcError('Unimplemented', 'API is not implemented in maintenance mode');
    if (name === 'GenerateClientConfiguration') return rpcError('Unimplemented', "client configuration (talosconfig) can't be generated in the maintenance mode");
    return rpcError('Unimplemented', `method ${name} not implemented`);
  }
  if (service === 'cosi.resource.State') return ['Get', 'List', 'Watch'].includes(name) ? undefined : rpcError('PermissionDenied', 'write access is not allowed');
  return rpcError('Unimplemented', `unknown service ${service}`);
}
