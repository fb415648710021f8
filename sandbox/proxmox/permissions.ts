// Privilege checks as a Proxmox VE node makes them for the calls autok8s uses, so a token
// without a privilege gets the 403 the real API answers. Two layers, in the real order:
// 1. the operation's `permissions.check` from the published schema (./schema/pve-api.json),
//    run before the parameters are verified (pve-manager PVE/HTTPServer.pm rest_handler →
//    PVE::RPCEnvironment::check_api2_permissions / exec_api2_perm_check);
// 2. the checks the handler's code makes after verification (qemu-server src/PVE/API2/
//    Qemu.pm: create_vm, $update_vm_api, clone_vm, $check_storage_access,
//    $check_vm_modify_config_perm, check_bridge_access → pve-guest-common
//    PVE::GuestHelpers::check_vnet_access, assert_tag_permissions; pve-storage
//    PVE::Storage::check_volume_access).
// The 403 text is PVE::Exception::raise_perm_exc: `Permission check failed (<path>,
// <priv>)` for check(), `(<path>, <a>|<b>)` for check_any(), and a bare `Permission check
// failed` when an `or` has no branch left (create_vm's VM.Allocate, clone's newid).
// Simplifications: the hash-order loops of the Perl code run in sorted key order here; pools
// are not simulated; tags are checked synchronously (the real create checks them inside the
// qmcreate task); the datacenter's `user-tag-access` is its default, `free`.
import { privilegesOn, type ProxmoxToken } from './auth';
import { PveHttpError } from './envelope';
import { PVE_MESSAGES as M } from './messages';
import type { PermissionCheck } from './schema/check';
import { parsePropertyString } from './params';

export class PermissionDenied extends PveHttpError {
  constructor(what?: string) {
    super(403, M.permissionCheckFailed(what));
  }
}

function has(token: ProxmoxToken, path: string, privilege: string): boolean {
  const privs = privilegesOn(token, path);
  return privs === 'all' || privs.has(privilege);
}

/** RPCEnvironment::check (all of `privs`) or check_any (one of them). */
export function requirePrivileges(token: ProxmoxToken, path: string, privs: readonly string[], any = false): void {
  if (any) {
    if (!privs.some((p) => has(token, path, p))) throw new PermissionDenied(`${path}, ${privs.join('|')}`);
    return;
  }
  for (const p of privs) if (!has(token, path, p)) throw new PermissionDenied(`${path}, ${p}`);
}

/** PVE::Tools::template_replace over the request's parameters. */
const fill = (template: string, params: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_m, k: string) => params[k] ?? '');

/** RPCEnvironment::exec_api2_perm_check; returns false only when `noerr`. */
export function runPermissionCheck(token: ProxmoxToken, check: PermissionCheck, params: Record<string, string>, noerr = false): boolean {
  const [test, ...rest] = check as [string, ...unknown[]];
  if (test === 'and') {
    for (const sub of rest) runPermissionCheck(token, sub as PermissionCheck, params);
    return true;
  }
  if (test === 'or') {
    for (const sub of rest) if (runPermissionCheck(token, sub as PermissionCheck, params, true)) return true;
    if (noerr) return false;
    throw new PermissionDenied();
  }
  if (test === 'perm') {
    const [template, privs, ...options] = rest as [string, string[], ...unknown[]];
    const opts: Record<string, unknown> = {};
    for (let i = 0; i + 1 < options.length; i += 2) opts[String(options[i])] = options[i + 1];
    if (typeof opts.require_param === 'string' && params[opts.require_param] === undefined) {
      if (noerr) return false;
      throw new PermissionDenied();
    }
    try {
      requirePrivileges(token, fill(template, params), privs, Boolean(opts.any));
      return true;
    } catch (err) {
      if (noerr) return false;
      throw err;
    }
  }
  throw new Error(`proxmox simulator: permission test '${test}' is not simulated`);
}

// ---------- qemu-server's own checks (src/PVE/API2/Qemu.pm)

const CPU_OPTIONS = new Set(['cores', 'cpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus', 'affinity']);
const MEMORY_OPTIONS = new Set(['memory', 'balloon', 'shares', 'allow-ksm']);
const HWTYPE_OPTIONS = new Set(['acpi', 'hotplug', 'kvm', 'machine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog', 'audio0', 'rng0']);
const GENERAL_OPTIONS = new Set(['agent', 'autostart', 'bios', 'description', 'keyboard', 'localtime', 'migrate_downtime', 'migrate_speed', 'name', 'onboot', 'ostype', 'protection', 'reboot', 'startdate', 'startup', 'tdf', 'template']);
const DISK_OPTIONS = new Set(['boot', 'bootdisk', 'vmstatestorage']);
const CLOUDINIT_OPTIONS = new Set(['cicustom', 'cipassword', 'citype', 'ciuser', 'ciupgrade', 'nameserver', 'searchdomain', 'sshkeys']);
/** qemu-server Drive.pm valid drive names, in its iteration order (ide, sata, scsi, virtio). */
const DRIVE = /^(ide|sata|scsi|virtio)(\d+)$/;
const NEW_DISK = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;

const vmPath = (vmid: number | string) => `/vms/${vmid}`;

/** $check_vm_modify_config_perm: which privilege each changed key needs. */
function checkModifyConfig(token: ProxmoxToken, vmid: string, keys: string[]): void {
  for (const opt of [...keys].sort()) {
    if (DRIVE.test(opt) || /^(efidisk0|tpmstate0|cdrom|tags)$/.test(opt) || /^(unused|serial|usb|hostpci|virtiofs)\d+$/.test(opt)) continue;
    let privs: string[];
    let any = false;
    if (CPU_OPTIONS.has(opt) || /^numa\d+$/.test(opt)) privs = ['VM.Config.CPU'];
    else if (MEMORY_OPTIONS.has(opt)) privs = ['VM.Config.Memory'];
    else if (HWTYPE_OPTIONS.has(opt)) privs = ['VM.Config.HWType'];
    else if (GENERAL_OPTIONS.has(opt)) privs = opt === 'startup' ? ['VM.Config.Options'] : ['VM.Config.Options'];
    else if (opt === 'freeze') privs = ['VM.PowerMgmt'];
    else if (DISK_OPTIONS.has(opt)) privs = ['VM.Config.Disk'];
    else if (/^net\d+$/.test(opt)) privs = ['VM.Config.Network'];
    else if (CLOUDINIT_OPTIONS.has(opt) || /^ipconfig\d+$/.test(opt)) [privs, any] = [['VM.Config.Cloudinit', 'VM.Config.Network'], true];
    else throw new PveHttpError(500, `only root can set '${opt}' config`);
    requirePrivileges(token, vmPath(vmid), privs, any);
    if (opt === 'startup') requirePrivileges(token, '/', ['Sys.Modify']);
  }
}

const driveFile = (value: string) => parsePropertyString(value, 'file')?.file ?? value;
const isCdrom = (value: string) => /(^|,)media=cdrom(,|$)/.test(value) || driveFile(value) === 'cdrom';

/** $check_storage_access over the drives of a create or update, and PVE::Storage::check_volume_access. */
function checkStorageAccess(token: ProxmoxToken, vmid: string, params: Record<string, string>, defaultStorage?: string): void {
  const drives = Object.keys(params).filter((k) => DRIVE.test(k)).sort();
  for (const key of drives) {
    const value = params[key];
    const file = driveFile(value);
    const volume = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(file);
    if (!file || file === 'none' || file === 'cloudinit' || volume?.[2] === 'cloudinit') continue;
    if (isCdrom(value) && file === 'cdrom') {
      requirePrivileges(token, '/', ['Sys.Console']);
    } else if (!isCdrom(value) && NEW_DISK.test(file)) {
      const storage = NEW_DISK.exec(file)![2] ?? defaultStorage;
      if (storage) requirePrivileges(token, `/storage/${storage}`, ['Datastore.AllocateSpace']);
    } else if (volume) {
      const [, sid, volname] = volume;
      if (has(token, `/storage/${sid}`, 'Datastore.Allocate')) continue;
      if (/^iso\//.test(volname)) {
        requirePrivileges(token, `/storage/${sid}`, ['Datastore.AllocateSpace', 'Datastore.Audit'], true);
      } else {
        const owner = /(?:^|\/)(?:vm|base)-(\d+)-/.exec(volname)?.[1];
        if (owner === vmid) continue;
        if (owner === undefined) throw new PveHttpError(500, `missing privileges to access ${file}`);
        requirePrivileges(token, `/storage/${sid}`, ['Datastore.Audit']);
        requirePrivileges(token, vmPath(owner), ['VM.Config.Disk']);
      }
    }
  }
}

/** check_bridge_access → check_vnet_access (zone `localnetwork` for a plain Linux bridge). */
function checkBridgeAccess(token: ProxmoxToken, config: Record<string, string>): void {
  for (const key of Object.keys(config).filter((k) => /^net\d+$/.test(k)).sort()) {
    const opts = parsePropertyString(config[key].split(',').slice(1).join(','));
    const bridge = opts?.bridge;
    if (!bridge) continue;
    const path = `/sdn/zones/localnetwork/${bridge}`;
    requirePrivileges(token, opts?.tag ? `${path}/${opts.tag}` : path, ['SDN.Use']);
  }
}

/** Parameters create_vm extracts before looking at the config keys. */
const CREATE_EXTRACTED = new Set(['node', 'vmid', 'archive', 'bwlimit', 'force', 'pool', 'start', 'ha-managed', 'storage', 'unique', 'live-restore', 'import-working-storage']);

/** create_vm, after parameter verification. */
export function authorizeCreate(token: ProxmoxToken, params: Record<string, string>): void {
  const vmid = params.vmid;
  if (params.storage !== undefined) requirePrivileges(token, `/storage/${params.storage}`, ['Datastore.AllocateSpace']);
  if (params.start === '1') requirePrivileges(token, vmPath(vmid), ['VM.PowerMgmt']);
  if (!has(token, vmPath(vmid), 'VM.Allocate')) throw new PermissionDenied();
  const config = Object.fromEntries(Object.entries(params).filter(([k]) => !CREATE_EXTRACTED.has(k)));
  checkStorageAccess(token, vmid, config, params.storage);
  checkModifyConfig(token, vmid, Object.keys(config));
  checkBridgeAccess(token, config);
  if (config.tags !== undefined) requirePrivileges(token, vmPath(vmid), ['VM.Config.Options']);
}

const UPDATE_EXTRACTED = new Set(['node', 'vmid', 'digest', 'background_delay', 'delete', 'revert', 'force', 'skiplock', 'import-working-storage']);

/** $update_vm_api (PUT and POST config), after parameter verification; `existing` is the VM's current config. */
export function authorizeUpdate(token: ProxmoxToken, params: Record<string, string>, existing: Record<string, string> | undefined): void {
  const vmid = params.vmid;
  const deleted = (params.delete ?? '').split(/[,;\s]+/).filter(Boolean);
  const config = Object.fromEntries(Object.entries(params).filter(([k]) => !UPDATE_EXTRACTED.has(k)));
  checkModifyConfig(token, vmid, deleted);
  checkModifyConfig(token, vmid, Object.keys(config));
  checkStorageAccess(token, vmid, config);
  checkBridgeAccess(token, config);
  // $check_drive_perms: a cloud-init drive needs both, a CD-ROM VM.Config.CDROM, a disk VM.Config.Disk.
  for (const key of [...deleted, ...Object.keys(config)].filter((k) => DRIVE.test(k)).sort()) {
    const value = config[key] ?? existing?.[key] ?? '';
    if (/cloudinit/.test(driveFile(value))) requirePrivileges(token, vmPath(vmid), ['VM.Config.Cloudinit', 'VM.Config.CDROM']);
    else if (isCdrom(value)) requirePrivileges(token, vmPath(vmid), ['VM.Config.CDROM']);
    else requirePrivileges(token, vmPath(vmid), ['VM.Config.Disk']);
  }
  if (config.tags !== undefined) requirePrivileges(token, vmPath(vmid), ['VM.Config.Options']);
}

/** clone_vm's $check_storage_access_clone and check_bridge_access over the source's config. */
export function authorizeClone(token: ProxmoxToken, params: Record<string, string>, source: Record<string, string>): void {
  for (const key of Object.keys(source).filter((k) => DRIVE.test(k) || /^(efidisk0|tpmstate0)$/.test(k)).sort()) {
    const value = source[key];
    const file = driveFile(value);
    if (!file || file === 'none') continue;
    if (isCdrom(value)) {
      if (file === 'cdrom') requirePrivileges(token, '/', ['Sys.Console']);
      continue;
    }
    const sid = params.storage ?? file.split(':')[0];
    requirePrivileges(token, `/storage/${sid}`, ['Datastore.AllocateSpace']);
  }
  checkBridgeAccess(token, source);
}

/** vmlist: "Only list VMs where you have VM.Audit permissions on /vms/<vmid>." */
export function canAudit(token: ProxmoxToken, vmid: number): boolean {
  return has(token, vmPath(vmid), 'VM.Audit');
}

/** read_task_status: a token sees its own tasks; others need Sys.Audit on /nodes/<node>. */
export function authorizeTaskRead(token: ProxmoxToken, taskUser: string, node: string): void {
  if (taskUser !== token.tokenId) requirePrivileges(token, `/nodes/${node}`, ['Sys.Audit']);
}
