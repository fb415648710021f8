// What Talos and talosctl say, in one place. Strings marked (verified) were read in the
// siderolabs/talos sources at tag v1.8.3 (file noted); the others are best knowledge
// (unverified) and easy to correct here. The stand-in and the simulator import them; the
// adapter classifies by the gRPC code and transport words, not by these exact sentences.

export const TALOS_API_PORT = 50000;

/** (verified, internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go Bootstrap) */
export const BOOTSTRAP_ALREADY_EXISTS = 'etcd data directory is not empty';
/** (verified, same function) */
export const BOOTSTRAP_ON_WORKER = 'bootstrap can only be performed on a control plane node';
/** (verified, checkControlplane: "%s is only available on control plane nodes") */
export const onlyOnControlPlane = (api: string) => `${api} is only available on control plane nodes`;
/** (verified, etcd rpctypes.ErrGRPCMemberNotFound, returned as NotFound by EtcdRemoveMemberByID) */
export const ETCD_MEMBER_NOT_FOUND = 'etcdserver: member not found';
/** (verified, etcd rpctypes.ErrGRPCNoLeader, code Unavailable) */
export const ETCD_NO_LEADER = 'etcdserver: no leader';
/** (verified wording of etcd's ErrGRPCNotEnoughStartedMembers; Talos wraps it as "failed to remove member: ...") */
export const ETCD_NOT_ENOUGH_STARTED = 'etcdserver: re-configuration failed due to not enough started members';
/** (unverified) What `etcd members` answers on a control plane whose etcd has not started (local client dial times out). */
export const ETCD_NOT_RUNNING = 'context deadline exceeded';

/** (verified, internal/app/maintenance/server.go ApplyConfiguration dry run) */
export const MAINTENANCE_DRY_RUN = 'Dry run summary:\nNode is running in maintenance mode and does not have a config yet.';
/** (verified, maintenance server assertAdminRole) */
export const MAINTENANCE_NOT_IMPLEMENTED = 'API is not implemented in maintenance mode';
/** (verified, maintenance ApplyConfiguration for modes other than auto/reboot/try) */
export const maintenanceModeUnsupported = (mode: string) => `apply configuration --mode='${mode}' is not supported in maintenance mode`;
/** (verified, v1alpha1_server.go generateDiff / ApplyConfiguration dry run) */
export const dryRunSummary = (modeDetails: string, diff: string) => `Dry run summary:\n${modeDetails} (skipped in dry-run).\nConfig diff:\n\n${diff || 'No changes.'}`;
export const APPLIED_WITHOUT_REBOOT = 'Applied configuration without a reboot';
export const APPLIED_WITH_REBOOT = 'Applied configuration with a reboot';

/**
 * Transport failures as grpc-go prints them through talosctl.
 * (unverified in detail; the shapes are the ones users report in Talos issues, e.g. #9241)
 */
export const dialFailure = (ip: string, reason: string) =>
  `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${ip}:${TALOS_API_PORT}: connect: ${reason}"`;
export const UNKNOWN_AUTHORITY =
  'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"';
/** A configured node's apid requires a client certificate, which --insecure does not present. */
export const CERTIFICATE_REQUIRED = 'rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: remote error: tls: certificate required"';
export const CONNECTION_RESET = 'rpc error: code = Unavailable desc = error reading from server: EOF';

/** (verified, cmd/talosctl/cmd/mgmt/gen/gen.go validateFileExists) */
export const fileExists = (path: string) => `file ${JSON.stringify(path)} already exists, use --force to overwrite`;
/** (verified, cmd/talosctl/cmd/talos/kubeconfig.go) */
export const kubeconfigExists = (path: string) => `kubeconfig file already exists, use --force to overwrite: ${JSON.stringify(path)}`;
/** (verified, pkg/machinery/client/client.go) */
export const NO_ENDPOINTS = 'failed to determine endpoints';

/** Check names of `talosctl health` (verified, pkg/cluster/check/default.go), in order. */
export const HEALTH_CHECKS = [
  'etcd to be healthy',
  'etcd members to be consistent across nodes',
  'etcd members to be control plane nodes',
  'apid to be ready',
  'kubelet to be healthy',
  'all nodes to finish boot sequence',
  'all k8s nodes to report',
  'all k8s nodes to report ready',
] as const;

/** (unverified) Unmet MachineStatus conditions. */
export const UNMET = {
  services: { name: 'services', reason: 'some services are not healthy' },
  nodeReady: { name: 'nodeReady', reason: 'node is not ready' },
  etcd: { name: 'etcd', reason: 'etcd is not a voting member yet' },
} as const;
