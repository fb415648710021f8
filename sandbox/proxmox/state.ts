// The state of one simulated Proxmox node: its VMs (tasks run in ./tasks). Mirrors how qemu-server
// behaves: synchronous checks answer 500 right away ("VM 101 is running - destroy failed"),
// the rest runs in a worker task identified by a UPID, whose effect lands when the task
// ends; a create reserves its VMID at once (a config holding only `lock: create`) and the
// task fills it in, or removes it on failure.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AuditLog } from '../audit';
import { paramError, runtimeError } from './envelope';
import { PVE_MESSAGES as M, NEXTID_AS_STRING } from './messages';
import { isTrue, type Params } from './params';
import { TaskRunner, type CallContext, type TaskPlan } from './tasks';
import { cdromVolume, guestTraits, isoContent, type GuestTraits, type SimDiskGuest, type SimIso } from './images';
import {
  agentEnabled,
  cloneDrive,
  creationExtras,
  DRIVE_KEY,
  guestAddress,
  NET_KEY,
  NUMERIC_KEYS,
  normaliseConfig,
  parseNet,
  randomMac,
  printNet,
  splitTags,
  type VmConfig,
} from './vm-config';

export interface ProxmoxLatency {
  createMs: number;
  startMs: number;
  stopMs: number;
  destroyMs: number;
  /** From a finished start until the guest agent answers. */
  bootMs: number;
}

export const DEFAULT_LATENCY: ProxmoxLatency = { createMs: 200, startMs: 300, stopMs: 100, destroyMs: 100, bootMs: 400 };

export type VmChange = 'created' | 'started' | 'stopped' | 'destroyed';

/** A VM as tests and the other simulators see it. */
export interface SimVm {
  vmid: number;
  name: string;
  status: 'running' | 'stopped';
  tags: string[];
  config: Record<string, string>;
  /** The static address from ipconfig0, once the guest has booted an image that reads cloud-init. */
  ip?: string;
  /** What the VM boots (./images.ts): its ISO and platform, or "disk". */
  image?: string;
  /** Increments on each create of this VMID, so a recreated VM is a new machine. */
  generation: number;
  /** When the guest agent started answering (ms since the epoch), while running. */
  bootedAt?: number;
}

interface VmRecord {
  vmid: number;
  config: VmConfig;
  status: 'running' | 'stopped';
  runningSince?: number;
  generation: number;
  nextDisk: number;
}

export type { CallContext } from './tasks';

export interface StateOptions {
  node: string;
  service: string;
  audit: AuditLog;
  latency: ProxmoxLatency;
  storages: string[];
  bridges: string[];
  /** ISO images on the node's storages, with what they really are. */
  isos: SimIso[];
  /** What a VM without an ISO (booting its disk) runs. */
  diskGuest: SimDiskGuest;
}

export interface SeedVm {
  vmid: number;
  name: string;
  status?: 'running' | 'stopped';
  config?: Record<string, string>;
}

export class ProxmoxState {
  private readonly vmsById = new Map<number, VmRecord>();
  private readonly generations = new Map<number, number>();
  private readonly events = new EventEmitter();
  private readonly tasks: TaskRunner;

  constructor(private readonly o: StateOptions) {
    this.events.setMaxListeners(100);
    this.tasks = new TaskRunner(o);
  }

  /** Changes simulated latencies from now on (a slower node in a test). */
  setLatency(latency: Partial<ProxmoxLatency>): void {
    Object.assign(this.o.latency, latency);
  }

  // ---------- views

  simVms(): SimVm[] {
    return [...this.vmsById.values()].sort((a, b) => a.vmid - b.vmid).map((r) => this.view(r));
  }

  simVm(vmid: number): SimVm | undefined {
    const r = this.vmsById.get(vmid);
    return r && this.view(r);
  }

  /**
   * The running, booted VM that took `ip` from its cloud-init drive, seen as simVms() sees it,
   * without building a view of every VM: the simulated Talos nodes ask this for each address
   * several times a second.
   */
  simVmByIp(ip: string): SimVm | undefined {
    let found: SimVm | undefined;
    for (const r of this.vmsById.values()) {
      if (r.status !== 'running' || this.bootedAt(r) === undefined || guestAddress(r.config)?.ip !== ip) continue;
      if (found && found.vmid < r.vmid) continue; // as simVms() in VMID order: the lowest VMID
      const view = this.view(r);
      if (view.ip === ip) found = view;
    }
    return found;
  }

  private bootedAt(r: VmRecord): number | undefined {
    if (r.status !== 'running' || r.runningSince === undefined) return undefined;
    const at = r.runningSince + this.o.latency.bootMs;
    return Date.now() >= at ? at : undefined;
  }

  private traits(r: VmRecord): GuestTraits | undefined {
    return guestTraits(r.config, this.o.isos, this.o.diskGuest);
  }

  private view(r: VmRecord): SimVm {
    const bootedAt = this.bootedAt(r);
    const traits = this.traits(r);
    return {
      vmid: r.vmid,
      name: r.config.name ?? '',
      status: r.status,
      tags: splitTags(r.config.tags),
      config: { ...r.config },
      ip: bootedAt !== undefined && traits?.readsCloudInit ? guestAddress(r.config)?.ip : undefined,
      image: traits?.image,
      generation: r.generation,
      bootedAt,
    };
  }

  onVmChange(listener: (vm: SimVm, change: VmChange) => void): () => void {
    const wrapped = (vm: SimVm, change: VmChange) => listener(vm, change);
    this.events.on('change', wrapped);
    return () => this.events.off('change', wrapped);
  }

  private emit(r: VmRecord, change: VmChange): void {
    this.events.emit('change', this.view(r), change);
  }

  seed(vm: SeedVm): void {
    const config: VmConfig = { name: vm.name, ...(vm.config ?? {}) };
    const generation = this.bumpGeneration(vm.vmid);
    this.vmsById.set(vm.vmid, { vmid: vm.vmid, config, status: vm.status ?? 'stopped', runningSince: vm.status === 'running' ? Date.now() - this.o.latency.bootMs : undefined, generation, nextDisk: 10 });
  }

  // ---------- reads

  nextId(requested?: number): number | string {
    if (requested !== undefined) {
      if (this.vmsById.has(requested)) throw paramError({ vmid: M.nextIdTaken(requested) });
      return NEXTID_AS_STRING ? String(requested) : requested;
    }
    let id = 100;
    while (this.vmsById.has(id)) id++;
    return NEXTID_AS_STRING ? String(id) : id;
  }

  list(): Record<string, unknown>[] {
    return [...this.vmsById.values()]
      .sort((a, b) => a.vmid - b.vmid)
      .map((r) => {
        const entry: Record<string, unknown> = {
          vmid: r.vmid,
          name: r.config.name ?? `VM ${r.vmid}`,
          status: r.status,
          cpus: Number(r.config.cores ?? 1) * Number(r.config.sockets ?? 1),
          maxmem: Number(r.config.memory ?? 512) * 1024 * 1024,
          maxdisk: diskBytes(r.config),
          mem: r.status === 'running' ? Math.floor(Number(r.config.memory ?? 512) * 1024 * 1024 * 0.3) : 0,
          uptime: this.uptime(r),
          netin: 0,
          netout: 0,
          diskread: 0,
          diskwrite: 0,
        };
        if (r.config.tags !== undefined) entry.tags = r.config.tags;
        if (r.config.lock !== undefined) entry.lock = r.config.lock;
        if (isTrue(r.config.template)) entry.template = 1;
        if (r.status === 'running') entry.pid = 10_000 + r.vmid;
        return entry;
      });
  }

  private uptime(r: VmRecord): number {
    return r.status === 'running' && r.runningSince !== undefined ? Math.floor((Date.now() - r.runningSince) / 1000) : 0;
  }

  private require(vmid: number): VmRecord {
    const r = this.vmsById.get(vmid);
    if (!r) throw runtimeError(M.configDoesNotExist(this.o.node, vmid));
    return r;
  }

  config(vmid: number): Record<string, unknown> {
    const r = this.require(vmid);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.config)) out[k] = NUMERIC_KEYS.has(k) && /^\d+$/.test(v) ? Number(v) : v;
    out.digest = configDigest(r.config);
    return out;
  }

  statusCurrent(vmid: number): Record<string, unknown> {
    const r = this.require(vmid);
    const out: Record<string, unknown> = {
      vmid: r.vmid,
      name: r.config.name ?? `VM ${r.vmid}`,
      status: r.status,
      qmpstatus: r.status,
      uptime: this.uptime(r),
      cpus: Number(r.config.cores ?? 1) * Number(r.config.sockets ?? 1),
      maxmem: Number(r.config.memory ?? 512) * 1024 * 1024,
      maxdisk: diskBytes(r.config),
      ha: { managed: 0 },
    };
    if (agentEnabled(r.config)) out.agent = 1;
    if (r.config.tags !== undefined) out.tags = r.config.tags;
    if (r.config.lock !== undefined) out.lock = r.config.lock;
    if (r.status === 'running') out.pid = 10_000 + r.vmid;
    return out;
  }

  agentNetworkInterfaces(vmid: number): Record<string, unknown> {
    const r = this.require(vmid);
    if (!agentEnabled(r.config)) throw runtimeError(M.agentNotConfigured);
    if (r.status !== 'running') throw runtimeError(M.agentVmNotRunning(vmid));
    // An image without the agent never answers: the serial port is there (agent: 1), no one listens.
    const traits = this.traits(r);
    if (this.bootedAt(r) === undefined || !traits?.guestAgent) throw runtimeError(M.agentNotRunning);
    const lo = {
      name: 'lo',
      'hardware-address': '00:00:00:00:00:00',
      'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 }],
      statistics: zeroStats(),
    };
    const net0 = r.config.net0 ? parseNet(r.config.net0) : undefined;
    const address = traits.readsCloudInit ? guestAddress(r.config) : undefined;
    const eth0 = net0 && {
      name: 'eth0',
      'hardware-address': (net0.mac ?? '').toLowerCase(),
      'ip-addresses': address ? [{ 'ip-address': address.ip, 'ip-address-type': 'ipv4', prefix: address.prefix }] : [],
      statistics: zeroStats(),
    };
    return { result: eth0 ? [lo, eth0] : [lo] };
  }

  /** `GET /nodes/{node}/storage/{storage}/content`: the ISOs only (no disk volumes are listed). */
  storageContent(storage: string, content?: string): Record<string, unknown>[] {
    if (!this.o.storages.includes(storage)) throw runtimeError(M.noSuchStorage(storage));
    return content === undefined || content === 'iso' ? isoContent(this.o.isos, storage) : [];
  }

  taskStatus(upid: string): Record<string, unknown> {
    return this.tasks.status(upid);
  }

  forgetTasks(): void {
    this.tasks.forgetAll();
  }

  // ---------- mutations (return a UPID unless said otherwise)

  create(params: Params, ctx: CallContext): string {
    const vmid = Number(params.vmid);
    const { vmid: _vmid, start, ...configParams } = params;
    const record: VmRecord = { vmid, config: {}, status: 'stopped', generation: 0, nextDisk: 0 };
    const { config, storages } = normaliseConfig(configParams, vmid, () => record.nextDisk++);
    this.checkStorages(storages);
    if (this.vmsById.has(vmid)) throw runtimeError(M.createExists(vmid, this.o.node));
    record.config = { lock: 'create' };
    this.vmsById.set(vmid, record);
    return this.startTask(ctx, {
      type: 'qmcreate',
      vmid,
      latencyMs: this.o.latency.createMs,
      run: () => {
        // create_disks sizes every drive it is given, the ISO too: a volume the storage does not hold fails the create.
        const missing = cdromVolumeMissing(config, this.o.isos, this.o.diskGuest);
        if (missing !== undefined) throw new Error(M.createVolumeMissing(missing));
        record.config = { ...config, ...creationExtras(Date.now()) };
        record.generation = this.bumpGeneration(vmid);
        this.emit(record, 'created');
        if (isTrue(start)) {
          // "Execute autostart": a failed start is a warning in the create task, not its failure.
          try {
            this.applyStart(record);
          } catch {
            /* the VM stays stopped */
          }
        }
      },
      cleanup: () => this.vmsById.delete(vmid),
    });
  }

  clone(sourceVmid: number, params: Params, ctx: CallContext): string {
    const source = this.require(sourceVmid);
    const newid = Number(params.newid);
    if (params.storage) this.checkStorages([params.storage]);
    if (this.vmsById.has(newid)) throw runtimeError(M.cloneTargetExists(newid, this.o.node));
    const record: VmRecord = { vmid: newid, config: { lock: 'clone' }, status: 'stopped', generation: 0, nextDisk: source.nextDisk };
    this.vmsById.set(newid, record);
    return this.startTask(ctx, {
      type: 'qmclone',
      vmid: sourceVmid,
      latencyMs: this.o.latency.createMs,
      run: () => {
        const config: VmConfig = {};
        for (const [k, v] of Object.entries(source.config)) {
          if (['lock', 'template', 'meta', 'smbios1', 'vmgenid', 'digest'].includes(k)) continue;
          if (NET_KEY.test(k)) config[k] = printNet({ ...parseNet(v), mac: randomMac() });
          else if (DRIVE_KEY.test(k)) config[k] = cloneDrive(params.storage ? v.replace(/^[^:]+:/, `${params.storage}:`) : v, sourceVmid, newid);
          else config[k] = v;
        }
        config.name = params.name ?? `Copy-of-VM-${source.config.name ?? sourceVmid}`;
        if (params.description !== undefined) config.description = params.description;
        record.config = { ...config, ...creationExtras(Date.now()) };
        record.generation = this.bumpGeneration(newid);
        this.emit(record, 'created');
      },
      cleanup: () => this.vmsById.delete(newid),
    });
  }

  /** PUT config (synchronous, answers null) and POST config (a qmconfig task). */
  updateConfig(vmid: number, params: Params, ctx: CallContext, asTask: boolean): string | null {
    const r = this.require(vmid);
    if (r.config.lock && !isTrue(params.skiplock)) throw runtimeError(M.locked(r.config.lock));
    if (params.digest !== undefined && params.digest !== configDigest(r.config)) {
      throw runtimeError(M.digestMismatch);
    }
    const { delete: deleteList, digest: _digest, skiplock: _skiplock, revert: _revert, ...setParams } = params;
    const { config, storages } = normaliseConfig(setParams, vmid, () => r.nextDisk++, r.config);
    this.checkStorages(storages);
    const apply = () => {
      for (const [k, v] of Object.entries(config)) {
        // A drive replaced by a new volume keeps the old one as unusedN, as Proxmox does.
        if (DRIVE_KEY.test(k) && r.config[k] && !r.config[k].includes('media=cdrom') && r.config[k].split(',')[0] !== v.split(',')[0]) {
          let n = 0;
          while (r.config[`unused${n}`] !== undefined) n++;
          r.config[`unused${n}`] = r.config[k].split(',')[0];
        }
        r.config[k] = v;
      }
      for (const k of (deleteList ?? '').split(/[,;\s]+/).filter(Boolean)) delete r.config[k];
    };
    if (!asTask) {
      if (ctx.taskError) throw runtimeError(ctx.taskError);
      apply();
      return null;
    }
    return this.startTask(ctx, { type: 'qmconfig', vmid, latencyMs: 0, run: apply });
  }

  start(vmid: number, ctx: CallContext): string {
    // Everything is checked inside the task, as QemuServer::vm_start does.
    return this.startTask(ctx, {
      type: 'qmstart',
      vmid,
      latencyMs: this.o.latency.startMs,
      run: () => {
        const r = this.require(vmid);
        if (isTrue(r.config.template)) throw new Error(M.startTemplate);
        if (r.config.lock) throw new Error(M.locked(r.config.lock));
        if (r.status === 'running') throw new Error(M.alreadyRunning(vmid));
        const volid = cdromVolumeMissing(r.config, this.o.isos, this.o.diskGuest);
        if (volid !== undefined) throw new Error(M.noSuchVolume(volid));
        this.applyStart(r);
      },
    });
  }

  /** `stop` pulls the plug, `shutdown` asks the guest: both end stopped here; both are no-ops on a stopped VM. */
  stop(vmid: number, ctx: CallContext, type: 'qmstop' | 'qmshutdown'): string {
    return this.startTask(ctx, {
      type,
      vmid,
      latencyMs: this.o.latency.stopMs,
      run: () => {
        const r = this.require(vmid);
        if (r.config.lock) throw new Error(M.locked(r.config.lock));
        this.applyStop(r);
      },
    });
  }

  reboot(vmid: number, ctx: CallContext): string {
    const r = this.require(vmid);
    if (r.status !== 'running') throw runtimeError(M.notRunning(vmid));
    return this.startTask(ctx, {
      type: 'qmreboot',
      vmid,
      latencyMs: this.o.latency.stopMs + this.o.latency.startMs,
      run: () => {
        if (r.status !== 'running') throw new Error(M.notRunning(vmid));
        this.applyStop(r);
        this.applyStart(r);
      },
    });
  }

  destroy(vmid: number, ctx: CallContext): string {
    const r = this.require(vmid);
    if (r.config.lock) throw runtimeError(M.locked(r.config.lock));
    if (r.status === 'running') throw runtimeError(M.destroyRunning(vmid));
    return this.startTask(ctx, {
      type: 'qmdestroy',
      vmid,
      latencyMs: this.o.latency.destroyMs,
      run: () => {
        if (this.vmsById.get(vmid) !== r) throw new Error(M.configDoesNotExist(this.o.node, vmid));
        if (r.status === 'running') throw new Error(M.destroyRunning(vmid));
        this.vmsById.delete(vmid);
        this.emit(r, 'destroyed');
      },
    });
  }

  /** Fault: the VM stops abruptly (a crashed guest or a killed qemu process). */
  kill(vmid: number): boolean {
    const r = this.vmsById.get(vmid);
    if (!r || r.status !== 'running') return false;
    this.applyStop(r);
    return true;
  }

  // ---------- internals

  private applyStart(r: VmRecord): void {
    for (const [k, v] of Object.entries(r.config)) {
      if (!NET_KEY.test(k)) continue;
      const bridge = parseNet(v).options.bridge;
      if (bridge && !this.o.bridges.includes(bridge)) throw new Error(M.noSuchBridge(bridge));
    }
    r.status = 'running';
    r.runningSince = Date.now();
    this.emit(r, 'started');
  }

  private applyStop(r: VmRecord): void {
    if (r.status !== 'running') return;
    r.status = 'stopped';
    r.runningSince = undefined;
    this.emit(r, 'stopped');
  }

  private checkStorages(storages: string[]): void {
    for (const s of storages) if (!this.o.storages.includes(s)) throw runtimeError(M.noSuchStorage(s));
  }

  private bumpGeneration(vmid: number): number {
    const g = (this.generations.get(vmid) ?? 0) + 1;
    this.generations.set(vmid, g);
    return g;
  }

  private startTask(ctx: CallContext, plan: TaskPlan): string {
    return this.tasks.start(ctx, plan);
  }

  /** Cancels pending task timers (the simulator is stopping). */
  close(): void {
    this.tasks.close();
  }
}

/** The CD-ROM's ISO when the node does not hold it (the VM cannot start). */
function cdromVolumeMissing(config: VmConfig, isos: readonly SimIso[], disk: SimDiskGuest): string | undefined {
  return guestTraits(config, isos, disk) === undefined ? cdromVolume(config) : undefined;
}

function configDigest(config: VmConfig): string {
  return createHash('sha1').update(JSON.stringify(Object.entries(config).sort())).digest('hex');
}

function diskBytes(config: VmConfig): number {
  const m = config.scsi0 ? /size=(\d+)G/.exec(config.scsi0) : null;
  return m ? Number(m[1]) * 1024 ** 3 : 0;
}

function zeroStats() {
  return { 'rx-bytes': 0, 'rx-packets': 0, 'rx-errs': 0, 'rx-dropped': 0, 'tx-bytes': 0, 'tx-packets': 0, 'tx-errs': 0, 'tx-dropped': 0 };
}
