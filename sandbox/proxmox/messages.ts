// Every wording the simulated Proxmox VE API answers with, in one place (docs/contracts.md §B).
// Entries marked VERIFIED were read in qemu-server / pve-common sources (PVE/API2/Qemu.pm,
// PVE/QemuServer.pm, PVE/AbstractConfig.pm, PVE/JSONSchema.pm); everything else is best
// knowledge and marked UNVERIFIED, so correcting it against a real node is a one-line edit.
// Proxmox `die`s with a trailing "\n"; the HTTP reason phrase carries the text without it.

export const PVE_MESSAGES = {
  // --- authentication (VERIFIED: pve-manager PVE/HTTPServer.pm auth_handler `die "No ticket\n"`
  // without credentials, `die "Authentication failed!\n"` when verify_token fails)
  noTicket: 'No ticket',
  authenticationFailure: 'Authentication failed!',
  /** VERIFIED (pve-common PVE/Exception.pm raise_perm_exc): the reason phrase of every 403. */
  permissionCheckFailed: (what?: string) => (what ? `Permission check failed (${what})` : 'Permission check failed'),

  // --- envelope
  /** VERIFIED (pve-manager PVE/HTTPServer.pm rest_handler): a 501 for an unknown path or method; the path is relative to /api2/json. */
  notImplemented: (method: string, path: string) => `Method '${method} ${path}' not implemented`,
  /** VERIFIED (PVE::Exception raise_param_exc): reason phrase of every 400 with an `errors` map. */
  parameterVerificationFailed: 'Parameter verification failed.',
  /** UNVERIFIED: newer versions add `message` to error bodies; whether it keeps the "\n" is unconfirmed. */
  bodyMessageSuffix: '\n',

  // --- JSON schema parameter errors: sandbox/proxmox/schema/check.ts (PVE/JSONSchema.pm wordings)

  // --- runtime failures (500)
  /** VERIFIED (PVE::QemuConfig->load_config via cfs_config_path). */
  configDoesNotExist: (node: string, vmid: number) => `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`,
  /** VERIFIED shape (API2/Qemu.pm create_vm: "$emsg $@" around create_and_lock_config → check_vmid_unused); docs/contracts.md §B.4. */
  createExists: (vmid: number, node: string) => `unable to create VM ${vmid} - VM ${vmid} already exists on node '${node}'`,
  /** VERIFIED (API2/Qemu.pm clone_vm: `$load_and_check` dies so before fork_worker, "early checks before forking/locking", and again in the task). */
  cloneTargetExists: (vmid: number, _node: string) => `unable to create VM ${vmid}: config file already exists`,
  /** VERIFIED (QemuServer::vm_start, inside the qmstart task). */
  alreadyRunning: (vmid: number) => `VM ${vmid} already running`,
  /** VERIFIED (API2/Qemu.pm vm_reboot / vm_reset, synchronous). */
  notRunning: (vmid: number) => `VM ${vmid} not running`,
  /** VERIFIED (API2/Qemu.pm destroy_vm early checks, synchronous). */
  destroyRunning: (vmid: number) => `VM ${vmid} is running - destroy failed`,
  /** VERIFIED (PVE::AbstractConfig check_lock). */
  locked: (lock: string) => `VM is locked (${lock})`,
  /** VERIFIED (QemuServer::vm_start). */
  startTemplate: "you can't start a vm if it's a template",
  /** VERIFIED (pve-storage src/PVE/Storage.pm storage_config). */
  noSuchStorage: (storage: string) => `storage '${storage}' does not exist`,
  /** VERIFIED (API2/Qemu.pm create_disks: `die "volume $volid does not exist\n"`, inside the qmcreate task; no quotes). */
  createVolumeMissing: (volid: string) => `volume ${volid} does not exist`,
  /** UNVERIFIED: the qmstart task fails when a drive names a volume the storage no longer holds (removed after the create). */
  noSuchVolume: (volid: string) => `volume '${volid}' does not exist`,
  /** UNVERIFIED: the qmstart task fails when net0 names a missing bridge. */
  noSuchBridge: (bridge: string) => `bridge '${bridge}' does not exist`,
  /** UNVERIFIED: a node name that is not this node (a single-node "cluster"). */
  noSuchNode: (node: string) => `no such cluster node '${node}'`,
  /** VERIFIED shape (API2/Cluster.pm nextid raise_param_exc). */
  nextIdTaken: (vmid: number) => `VM ${vmid} already exists`,
  /**
   * VERIFIED (qemu-server src/PVE/API2/Qemu.pm $update_vm_api, load_and_check_config): a
   * config update (PUT/POST config) with a stale digest. (PVE::Tools::assert_if_modified's
   * "detected modified configuration ..." is what other handlers, e.g. snapshots, say.)
   */
  digestMismatch: 'checksum mismatch (file change by other user?)',
  /** VERIFIED (pve-manager PVE/API2/Tasks.pm read_task_status): errors.upid of a UPID whose task log is missing. */
  noSuchTask: 'no such task',
  /** VERIFIED (same): errors.upid of a UPID that does not parse. */
  unparsableUpid: 'unable to parse worker upid',

  // --- guest agent (VERIFIED: PVE::QemuServer::Agent assert_agent_available)
  agentNotConfigured: 'No QEMU guest agent configured',
  agentVmNotRunning: (vmid: number) => `VM ${vmid} is not running`,
  agentNotRunning: 'QEMU guest agent is not running',

  // --- faults
  /** Exit status of a task failed by a `taskError` fault without a message of its own. */
  defaultTaskError: 'command failed: injected task error',
} as const;

/**
 * UNVERIFIED: `GET /cluster/nextid` answers a string in the versions we know of
 * (`{"data":"100"}`); the schema says integer. Flip this to answer a number.
 */
export const NEXTID_AS_STRING = true;
