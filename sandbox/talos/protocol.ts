// The loopback protocol between the talosctl stand-in (a process per command, or run inside
// the sandbox process for the Go forwarder) and the TalosSimulator (node state, held by the sandbox). It mirrors the Talos API: one
// call per gRPC method, addressed like talosctl addresses it (an endpoint, target nodes,
// credentials), answered with a result or with the error text the Talos API would give.
// Types only, so the stand-in loads nothing heavy.

/** How the client authenticates: the maintenance API (no client certificate) or a talosconfig. */
export type TalosAuth = { insecure: true } | { insecure: false; caFingerprint: string };

export interface TalosCallBase {
  /** The address talosctl dials (-e, or the node itself with --insecure). */
  endpoint: string;
  /** The node the endpoint proxies to (-n); equal to the endpoint when none is named. */
  node: string;
  auth: TalosAuth;
}

export type TalosCall = TalosCallBase &
  (
    | { op: 'applyConfiguration'; configText: string; mode: string; dryRun: boolean }
    | { op: 'bootstrap' }
    | { op: 'etcdMemberList' }
    | { op: 'etcdRemoveMemberById'; memberId: string }
    | { op: 'etcdLeaveCluster' }
    | { op: 'etcdSnapshot' }
    | { op: 'version' }
    | { op: 'kubeconfig' }
    | { op: 'reset'; graceful: boolean; reboot: boolean }
    | { op: 'health'; controlPlaneNodes: string[]; workerNodes: string[] }
    | { op: 'get'; resource: string }
  );

export type TalosOp = TalosCall['op'];

export interface EtcdMemberView {
  id: string;
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
}

export interface HealthCheckView {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ResourceView {
  node: string;
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
}

export interface TalosResults {
  applyConfiguration: { modeDetails: string };
  bootstrap: Record<string, never>;
  etcdMemberList: { members: EtcdMemberView[] };
  etcdRemoveMemberById: Record<string, never>;
  etcdLeaveCluster: Record<string, never>;
  etcdSnapshot: { size: number };
  version: { tag: string; sha: string };
  kubeconfig: { clusterName: string; endpoint: string; k8sCaCrt: string };
  /** The node is back in maintenance mode after this long. */
  reset: { readyInMs: number };
  health: { checks: HealthCheckView[] };
  get: { items: ResourceView[] };
}

/**
 * Where a failure happened decides how talosctl prints it: `transport` failures reach
 * the client directly ("rpc error: code = Unavailable desc = connection error: ..."),
 * `node` failures come back through the endpoint's proxy, folded per node
 * ("1 error occurred:\n\t* 10.10.0.61: rpc error: ...").
 */
export interface TalosFailureAnswer {
  scope: 'transport' | 'node';
  node: string;
  /** The gRPC error text, e.g. "rpc error: code = AlreadyExists desc = etcd data directory is not empty". */
  message: string;
}

export type TalosAnswer = { ok: true; result: unknown } | { ok: false; failure: TalosFailureAnswer };

/** The environment variable through which the stand-in finds the simulator. */
export const TALOS_SIM_ENV = 'AUTOK8S_TALOS_SIM';
