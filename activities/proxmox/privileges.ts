// What a 403 from Proxmox means for the call that got it (pure; table-tested). Proxmox names
// the path and privilege it checked (`Permission check failed (/vms/101, VM.PowerMgmt)`,
// `(…, A|B)` when any of several would do) except when an `or` of checks fails: then it
// says only `Permission check failed` (create_vm's VM.Allocate, clone_vm's target VMID).
// For those the message names what the call needs, from the table in docs/production.md
// ("The calls, and the privileges they need"; sources there and in docs/contracts.md §B.7).

const CALLS: [method: string, path: RegExp, needs: string][] = [
  ['POST', /^\/nodes\/[^/]+\/qemu$/, 'VM.Allocate on /vms/<vmid>, VM.Config.CPU/Memory/Network/Options/HWType/Disk and VM.Config.Cloudinit on /vms/<vmid>, Datastore.AllocateSpace on the disk storage, Datastore.Audit (or AllocateSpace) on the ISO storage, SDN.Use on /sdn/zones/localnetwork/<bridge>'],
  ['POST', /^\/nodes\/[^/]+\/qemu\/\d+\/clone$/, 'VM.Clone on /vms/<template>, VM.Allocate on /vms/<new vmid>, Datastore.AllocateSpace on the target storage, SDN.Use on the template’s bridge'],
  ['PUT', /^\/nodes\/[^/]+\/qemu\/\d+\/config$/, 'the VM.Config.* privilege of each changed key on /vms/<vmid> (a cloud-init drive: VM.Config.Cloudinit and VM.Config.CDROM)'],
  ['GET', /^\/nodes\/[^/]+\/qemu(\/\d+\/(config|status\/current))?$/, 'VM.Audit on /vms/<vmid>'],
  ['POST', /^\/nodes\/[^/]+\/qemu\/\d+\/status\/(start|stop|shutdown|reboot)$/, 'VM.PowerMgmt on /vms/<vmid>'],
  ['DELETE', /^\/nodes\/[^/]+\/qemu\/\d+$/, 'VM.Allocate on /vms/<vmid>'],
  ['GET', /^\/nodes\/[^/]+\/qemu\/\d+\/agent\//, 'VM.GuestAgent.Audit on /vms/<vmid> (Proxmox VE 9; VM.Monitor on 8)'],
  ['GET', /^\/nodes\/[^/]+\/tasks\//, 'Sys.Audit on /nodes/<node> for a task another user or token started'],
];

/** The privileges the call `METHOD path` (relative to /api2/json) needs, if autok8s makes it. */
export function privilegesNeeded(method: string, path: string): string | undefined {
  return CALLS.find(([m, re]) => m === method && re.test(path))?.[2];
}

/** "privilege VM.PowerMgmt on /vms/101" from a 403's reason phrase, or what the call needs. */
export function missingPrivilege(reason: string, method: string, path: string): string {
  const named = /^Permission check failed \(([^,]+), ([^)]+)\)/.exec(reason.trim());
  if (named) {
    const [, on, privs] = named;
    return privs.includes('|') ? `one of ${privs.split('|').join(', ')} on ${on}` : `privilege ${privs} on ${on}`;
  }
  const needs = privilegesNeeded(method, path);
  return needs ? `a privilege for this call, which needs ${needs}` : 'a privilege for this call';
}
