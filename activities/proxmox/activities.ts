// Proxmox activities: the VMs of a cluster on one server's Proxmox node. JSON in, JSON out;
// each builds a client for the call from the spec (secret resolved here, at call time) and
// closes it afterwards. Every mutating activity looks before it acts and only ever acts on
// a VM that carries autok8s's mark (vm-plan.ts findOwnedVm), so a retried or replayed activity
// never duplicates a VM and never touches someone else's.
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { decideReboot } from '../../core/policies/reboot-once';
import type { ClusterSpec, ServerSpec, VmRole } from '../../core/spec/schema';
import { parseDuration } from '../../core/spec/duration';
import { expandHome, type SecretResolver } from '../secrets';
import type { Agent } from 'undici';
import { ProxmoxClient, proxmoxAgent, type VmStatusCurrent } from './client';
import { classifyProxmoxError, runtimeConflict, type ProxmoxTarget } from './errors';
import { activityContext, cancellationSignal, sleep } from '../activity-context';
import { heartbeatProgress, type OnProgress } from './progress';
import { bootImageProblem, platformByName } from '../../core/images/talos-image';
import { readinessPlan, type ProbeAnswer, type ReadinessPlan } from '../../core/images/readiness';
import { TalosctlNotFound } from '../talos/find-talosctl';
import { TalosctlSpawnError } from '../talos/talosctl';
import { defaultGuestProbes, type GuestProbes } from './guest-probes';
import { taskSucceeded, waitForTask } from './tasks';
import { createLbLinkActivities } from './lb-link';
import type { NodeCall } from './node-call';
import { clusterVmRole, desiredVmConfig, diffVmConfig, findOwnedVm, vmName, type DesiredVm, type LbPublicNicOptions, type VmListEntry, type VmOwnership } from './vm-plan';

export interface ProxmoxActivityDeps {
  secrets: SecretResolver;
  /** How often task and boot waits poll (default 1 s). */
  pollIntervalMs?: number;
  /** Per HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** Longest wait for one Proxmox task (default 10 min). */
  taskTimeoutMs?: number;
  /** Progress of long waits; defaults to Temporal heartbeats (a no-op outside an activity). */
  onProgress?: OnProgress;
  /** Whether a booted guest answers on its address (default: talosctl and an SSH banner). */
  probes?: GuestProbes;
}

export interface EnsureVmResult {
  vmid: number;
  name: string;
  node: string;
  created: boolean;
  /** Config keys brought back to the spec. */
  reconciled: string[];
  /** Differences autok8s leaves alone (disks), each with what to do. */
  drift: string[];
}

export interface VmStatusResult {
  vmid: number;
  name: string;
  node: string;
  exists: boolean;
  /** False when a VM that autok8s did not create holds the VMID. */
  owned: boolean;
  status?: 'running' | 'stopped';
  uptimeSeconds?: number;
  lock?: string;
}

export interface ClusterVm {
  vmid: number;
  name: string;
  role: VmRole;
  status: string;
  server: string;
  node: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Rounds of look → act before ensureVm gives up (each act changes what the next look sees). */
const MAX_ROUNDS = 6;


function serverOf(spec: ClusterSpec, serverName: string): ServerSpec {
  const server = spec.servers.find((s) => s.name === serverName);
  if (!server) {
    throw ApplicationFailure.nonRetryable(`server ${serverName} is not in the spec of cluster ${spec.metadata.name}; choose one of ${spec.servers.map((s) => s.name).join(', ')}`, 'BadInput');
  }
  return server;
}

function desiredOf(spec: ClusterSpec, server: ServerSpec, role: VmRole, publicNic?: LbPublicNicOptions): DesiredVm {
  if (!server.vms[role]) {
    throw ApplicationFailure.nonRetryable(`server ${server.name} has no vms.${role} in the spec; there is no such VM to manage`, 'BadInput');
  }
  return desiredVmConfig(spec, server, role, publicNic);
}

export function createProxmoxActivities(deps: ProxmoxActivityDeps) {
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;
  const taskTimeoutMs = deps.taskTimeoutMs ?? 600_000;
  const progress: OnProgress = deps.onProgress ?? heartbeatProgress;
  const probes: GuestProbes = deps.probes ?? defaultGuestProbes();

  /** Runs `fn` with a client for the server's node; every failure leaves classified. */
  // One connection pool per node URL and trust, shared by every activity of this worker (a
  // changed CA or pin is another key, so a connection is never reused across trusts).
  const agents = new Map<string, Agent>();
  function agentFor(url: string, caPem: string | undefined, fingerprint: string | undefined): Agent {
    const key = JSON.stringify([url, caPem ?? '', fingerprint ?? '']);
    let agent = agents.get(key);
    if (!agent) {
      agent = proxmoxAgent({ caPem, fingerprint }, deps.requestTimeoutMs);
      agents.set(key, agent);
    }
    return agent;
  }

  async function onNode<T>(spec: ClusterSpec, serverName: string, fn: (call: NodeCall) => Promise<T>): Promise<T> {
    const server = serverOf(spec, serverName);
    const pve = server.proxmox;
    const target: ProxmoxTarget = { server: server.name, node: pve.node, url: pve.url, tokenId: pve.tokenId, tokenSecretRef: pve.tokenSecret };
    const tokenSecret = await deps.secrets(pve.tokenSecret);
    if (!UUID.test(tokenSecret)) {
      throw ApplicationFailure.nonRetryable(
        `the Proxmox token secret in ${pve.tokenSecret} (server ${server.name}) is not a UUID; it must hold only the secret that "pveum user token add" printed for ${pve.tokenId}, not the whole "${pve.tokenId}=..." string`,
        'ProxmoxAuthError',
      );
    }
    let caPem: string | undefined;
    if (pve.caFile) {
      try {
        caPem = await readFile(expandHome(pve.caFile), 'utf8');
      } catch (err) {
        throw ApplicationFailure.nonRetryable(
          `cannot read the proxmox.caFile ${pve.caFile} of server ${server.name} on the worker (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          'ProxmoxTlsError',
        );
      }
    }
    const signal = cancellationSignal();
    const agent = agentFor(pve.url, caPem, pve.fingerprint);
    const client = new ProxmoxClient({ url: pve.url, node: pve.node, tokenId: pve.tokenId, tokenSecret, caPem, fingerprint: pve.fingerprint }, { requestTimeoutMs: deps.requestTimeoutMs, signal, agent });
    try {
      return await fn({ client, spec, server, target, signal });
    } catch (err) {
      throw classifyProxmoxError(err, target);
    } finally {
      await client.close();
    }
  }

  const waitTask = (call: NodeCall, upid: string) => waitForTask(call.client, upid, { pollIntervalMs, timeoutMs: taskTimeoutMs, onProgress: progress, signal: call.signal });

  /** Looks at the node: the VM at the spec's VMID (with its description, for the ownership marker) and the rest. */
  async function look(call: NodeCall, spec: ClusterSpec, role: VmRole): Promise<VmOwnership> {
    const vmid = call.server.vms[role]!.vmid;
    const list = await call.client.listVms();
    const at = list.find((vm) => vm.vmid === vmid);
    if (at && at.lock !== 'create' && at.lock !== 'clone') {
      try {
        at.description = (await call.client.vmConfig(vmid)).description;
      } catch (err) {
        if (runtimeConflict(err) !== 'doesNotExist') throw err;
        return findOwnedVm(list.filter((vm) => vm !== at), spec, call.server, role);
      }
    }
    return findOwnedVm(list, spec, call.server, role);
  }

  /** Waits while a create or clone holds the VMID (our own earlier attempt, typically). */
  async function waitWhileBusy(call: NodeCall, vmid: number, lock: string): Promise<void> {
    const started = Date.now();
    for (;;) {
      const vm = (await call.client.listVms()).find((v) => v.vmid === vmid);
      if (!vm || (vm.lock !== 'create' && vm.lock !== 'clone')) return;
      progress({ waitingFor: `lock ${lock} on VM ${vmid}`, waitedMs: Date.now() - started });
      if (Date.now() - started > taskTimeoutMs) {
        throw ApplicationFailure.retryable(`VM ${vmid} on node ${call.server.proxmox.node} is still locked (${lock}) after ${Math.round(taskTimeoutMs / 1000)} s; see the node's task log`, 'ProxmoxVmBusy');
      }
      await sleep(pollIntervalMs, call.signal);
    }
  }

  /** The VM at the spec's VMID if it is ours; refuses otherwise. `missing` is returned for the caller to decide. */
  async function ourVm(call: NodeCall, spec: ClusterSpec, role: VmRole): Promise<'missing' | VmListEntry> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const own = await look(call, spec, role);
      if (own.kind === 'conflict') throw ApplicationFailure.nonRetryable(own.why, 'ProxmoxVmConflict', { vmid: own.vm.vmid });
      if (own.kind === 'missing') return 'missing';
      if (own.kind === 'ours') return own.vm;
      await waitWhileBusy(call, own.vm.vmid, own.lock);
    }
    throw ApplicationFailure.retryable(`VM ${call.server.vms[role]!.vmid} keeps changing under autok8s; will look again`, 'ProxmoxVmBusy');
  }

  function missingVm(spec: ClusterSpec, server: ServerSpec, role: VmRole): ApplicationFailure {
    return ApplicationFailure.nonRetryable(
      `VM ${server.vms[role]!.vmid} (${vmName(spec, server, role)}) does not exist on node ${server.proxmox.node}; create it first (ensureVm)`,
      'ProxmoxVmMissing',
    );
  }

  async function startIfStopped(call: NodeCall, vmid: number): Promise<boolean> {
    const status = await call.client.vmStatus(vmid);
    if (status.status === 'running') return false;
    try {
      await waitTask(call, await call.client.startVm(vmid));
    } catch (err) {
      if (runtimeConflict(err) === 'alreadyRunning') return false; // someone (or our earlier attempt) started it
      throw err;
    }
    return true;
  }

  /**
   * Polls until the guest answers on its spec address (core/images/readiness.ts: the Talos
   * API for Talos VMs, sshd for the LB), checking that the VM still runs. The guest agent is
   * asked only when the image has one, and only for the progress details.
   */
  async function waitUntilReady(call: NodeCall, desired: DesiredVm, plan: ReadinessPlan, timeoutMs: number): Promise<{ ip: string; waitedMs: number; answeredBy: string }> {
    const started = Date.now();
    let last = 'no answer yet';
    for (let poll = 0; ; poll++) {
      const status = await call.client.vmStatus(desired.vmid);
      if (status.status !== 'running') {
        throw ApplicationFailure.retryable(`VM ${desired.vmid} (${desired.name}) stopped while autok8s waited for it to answer on ${desired.ip}; see its console in the Proxmox UI`, 'ProxmoxVmNotRunning');
      }
      // A probe can take seconds (talosctl's dial, the agent's ping): beat before it, not only after.
      progress({ vmid: desired.vmid, waitingFor: `${plan.probe === 'talosApi' ? 'the Talos API' : 'sshd'} on ${desired.ip}`, poll, waitedMs: Date.now() - started, last });
      let answer: ProbeAnswer;
      try {
        answer = plan.probe === 'talosApi' ? await probes.talosApi(call.spec, desired.ip, call.signal) : await probes.ssh(call.server, desired.ip, call.signal);
      } catch (err) {
        if (call.signal?.aborted) throw call.signal.reason; // cancelled: talosctl was killed
        if (err instanceof TalosctlSpawnError || err instanceof TalosctlNotFound) throw ApplicationFailure.nonRetryable(err.message, 'TalosctlMissing');
        throw err;
      }
      if (answer.answered) return { ip: desired.ip, waitedMs: Date.now() - started, answeredBy: answer.how };
      last = answer.why;
      if (plan.agent) last += `; ${await agentSays(call, desired.vmid)}`;
      const waitedMs = Date.now() - started;
      progress({ vmid: desired.vmid, waitingFor: `${plan.probe === 'talosApi' ? 'the Talos API' : 'sshd'} on ${desired.ip}`, poll, waitedMs, last });
      if (waitedMs > timeoutMs) {
        // Not retried: the wait lasted what the spec allows, and another one would wait as long
        // again for a guest that does not answer (a wrong image, a wrong NIC name).
        throw ApplicationFailure.nonRetryable(
          `VM ${desired.vmid} (${desired.name}) on node ${desired.node} runs but ${plan.probe === 'talosApi' ? 'the Talos API' : 'sshd'} has not answered on its address ${desired.ip} after ${Math.round(waitedMs / 1000)} s (${last}). ` +
            `It boots ${plan.image}. ` +
            (plan.probe === 'talosApi'
              ? 'Only the Talos nocloud image takes the address from the cloud-init drive (ipconfig0); a metal image takes a DHCP address or none. Check the ISO and the VM console in the Proxmox UI.'
              : 'Check that the template runs cloud-init (it sets the address from ipconfig0) and sshd, and the VM console in the Proxmox UI.'),
          'VmBootTimeout',
        );
      }
      await sleep(pollIntervalMs, call.signal);
    }
  }

  /** What the guest agent reports, for progress details; its absence is not an error. */
  async function agentSays(call: NodeCall, vmid: number): Promise<string> {
    try {
      const interfaces = await call.client.agentNetworkInterfaces(vmid);
      const addresses = interfaces.flatMap((i) => (i['ip-addresses'] ?? []).filter((a) => a['ip-address-type'] === 'ipv4').map((a) => a['ip-address']));
      return `the guest agent reports ${addresses.filter((a) => a !== '127.0.0.1').join(', ') || 'no IPv4 address'}`;
    } catch (err) {
      // Progress details only: no answer, an agent error, even a 403 (VM.Monitor on PVE 8,
      // VM.GuestAgent.Audit on 9) must not fail the boot wait. A cancellation still ends it.
      if (call.signal?.aborted) throw call.signal.reason;
      return runtimeConflict(err) !== undefined ? 'the guest agent does not answer' : `the guest agent could not be asked (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    }
  }

  async function stopIfRunning(call: NodeCall, vmid: number, mode: 'stop' | 'shutdown'): Promise<boolean> {
    const status = await call.client.vmStatus(vmid);
    if (status.status !== 'running') return false;
    const upid = mode === 'stop' ? await call.client.stopVm(vmid) : await call.client.shutdownVm(vmid, { timeout: 60, forceStop: true });
    await waitTask(call, upid);
    return true;
  }

  return {
    ...createLbLinkActivities({ onNode, ourVm, missingVm, progress }),

    /**
     * Creates the VM of `role` on the server's node if missing, and brings its config back to
     * the spec. For the LB VM, `publicNic` gives its public NIC's OVH virtual MAC (vmac mode)
     * and the link state a new NIC starts with (vm-plan.ts desiredPublicNic).
     */
    async ensureVm(spec: ClusterSpec, serverName: string, role: VmRole, publicNic: LbPublicNicOptions = {}): Promise<EnsureVmResult> {
      return onNode(spec, serverName, async (call) => {
        const desired = desiredOf(spec, call.server, role, publicNic);
        let created = false;
        for (let round = 0; round < MAX_ROUNDS; round++) {
          const own = await look(call, spec, role);
          if (own.kind === 'conflict') throw ApplicationFailure.nonRetryable(own.why, 'ProxmoxVmConflict', { vmid: own.vm.vmid });
          if (own.kind === 'busy') {
            await waitWhileBusy(call, desired.vmid, own.lock);
            continue;
          }
          if (own.kind === 'missing') {
            try {
              const upid =
                desired.cloneFrom !== undefined
                  ? await call.client.cloneVm(desired.cloneFrom, {
                      newid: desired.vmid,
                      name: desired.name,
                      description: desired.params.description,
                      full: 1,
                      storage: call.server.proxmox.storage,
                    })
                  : await call.client.createVm(desired.params);
              progress({ vmid: desired.vmid, phase: desired.cloneFrom !== undefined ? 'cloning' : 'creating', upid });
              await waitTask(call, upid);
              created = true;
            } catch (err) {
              // A create that raced with another (or with our own earlier attempt): look again.
              if (runtimeConflict(err) !== 'alreadyExists') throw err;
            }
            continue;
          }
          const actual = await call.client.vmConfig(desired.vmid);
          const diff = diffVmConfig(actual, desired);
          const reconciled = Object.keys(diff.set);
          if (reconciled.length > 0) {
            progress({ vmid: desired.vmid, phase: 'reconciling', keys: reconciled });
            await call.client.updateVmConfig(desired.vmid, { ...diff.set, digest: actual.digest });
          }
          return { vmid: desired.vmid, name: desired.name, node: desired.node, created, reconciled, drift: diff.drift.map((d) => `${d.key}: ${d.why}`) };
        }
        throw ApplicationFailure.retryable(`VM ${desired.vmid} on node ${desired.node} kept changing while autok8s looked at it; will look again`, 'ProxmoxVmBusy');
      });
    },

    /** Starts the VM; one that already runs is a success. */
    async stopVm(spec: ClusterSpec, serverName: string, role: VmRole, mode: 'stop' | 'shutdown' = 'stop'): Promise<{ vmid: number; stopped: boolean }> {
      return onNode(spec, serverName, async (call) => {
        const vm = await ourVm(call, spec, role);
        const vmid = call.server.vms[role]!.vmid;
        if (vm === 'missing') return { vmid, stopped: false };
        return { vmid, stopped: await stopIfRunning(call, vmid, mode) };
      });
    },

    /**
     * Reboots a running VM, once however often the activity is retried; starts a stopped
     * one. A retry looks first (core/policies/reboot-once.ts): the reboot task an earlier
     * attempt started (its UPID is in the heartbeat details) or an uptime shorter than the
     * time since the first attempt means it has been rebooted already.
     */
    async rebootVm(spec: ClusterSpec, serverName: string, role: VmRole): Promise<{ vmid: number; action: 'rebooted' | 'started'; alreadyRebooted?: boolean }> {
      return onNode(spec, serverName, async (call) => {
        const vm = await ourVm(call, spec, role);
        if (vm === 'missing') throw missingVm(spec, call.server, role);
        const info = activityContext()?.info;
        const earlierUpid = (info?.heartbeatDetails as { rebootUpid?: unknown } | undefined)?.rebootUpid;
        const earlierTask = typeof earlierUpid === 'string' ? await call.client.taskStatus(earlierUpid).catch(() => undefined) : undefined;
        const status = await call.client.vmStatus(vm.vmid);
        const decision = decideReboot({
          attempt: info?.attempt,
          vm: { status: status.status, uptimeSeconds: status.uptime },
          earlierTask: earlierTask && { running: earlierTask.status !== 'stopped', succeeded: earlierTask.status === 'stopped' && taskSucceeded(earlierTask.exitstatus) },
          sinceFirstScheduledMs: info ? Date.now() - info.scheduledTimestampMs : undefined,
        });
        // Every heartbeat of a reboot carries its UPID, so the next attempt finds it.
        const rebootTask = (upid: string) => waitForTask(call.client, upid, { pollIntervalMs, timeoutMs: taskTimeoutMs, onProgress: (d) => progress({ ...d, rebootUpid: upid }), signal: call.signal });
        if (decision.act === 'waitForEarlierTask') {
          await rebootTask(earlierUpid as string);
          return { vmid: vm.vmid, action: 'rebooted', alreadyRebooted: true };
        }
        if (decision.act === 'nothing') return { vmid: vm.vmid, action: 'rebooted', alreadyRebooted: true };
        if (decision.act === 'reboot') {
          try {
            const upid = await call.client.rebootVm(vm.vmid);
            activityContext()?.heartbeat({ rebootUpid: upid }); // at once, not throttled: this is what a retry needs
            await rebootTask(upid);
            return { vmid: vm.vmid, action: 'rebooted' };
          } catch (err) {
            if (runtimeConflict(err) !== 'notRunning') throw err;
          }
        }
        await startIfStopped(call, vm.vmid);
        return { vmid: vm.vmid, action: 'started' };
      });
    },

    /** Stops (if running) and destroys the VM with its disks; a missing VM is a success; refuses a VM that is not ours. */
    async destroyVm(spec: ClusterSpec, serverName: string, role: VmRole): Promise<{ vmid: number; destroyed: boolean }> {
      return onNode(spec, serverName, async (call) => {
        const vmid = call.server.vms[role]!.vmid;
        for (let round = 0; round < MAX_ROUNDS; round++) {
          const vm = await ourVm(call, spec, role);
          if (vm === 'missing') return { vmid, destroyed: false };
          await stopIfRunning(call, vmid, 'stop');
          try {
            await waitTask(call, await call.client.destroyVm(vmid));
            return { vmid, destroyed: true };
          } catch (err) {
            const conflict = runtimeConflict(err);
            if (conflict === 'doesNotExist') return { vmid, destroyed: false };
            if (conflict !== 'isRunning') throw err; // started again in between: stop and retry
          }
        }
        throw ApplicationFailure.retryable(`VM ${vmid} kept running while autok8s tried to destroy it; will retry`, 'ProxmoxVmBusy');
      });
    },

    /** What the node says about the VM of `role` (read-only). */
    async vmStatus(spec: ClusterSpec, serverName: string, role: VmRole): Promise<VmStatusResult> {
      return onNode(spec, serverName, async (call) => {
        const desired = desiredOf(spec, call.server, role);
        const base = { vmid: desired.vmid, name: desired.name, node: desired.node };
        const own = await look(call, spec, role);
        if (own.kind === 'missing') return { ...base, exists: false, owned: false };
        let status: VmStatusCurrent;
        try {
          status = await call.client.vmStatus(desired.vmid);
        } catch (err) {
          if (runtimeConflict(err) === 'doesNotExist') return { ...base, exists: false, owned: false };
          throw err;
        }
        return { ...base, exists: true, owned: own.kind === 'ours', status: status.status, uptimeSeconds: status.uptime, lock: status.lock };
      });
    },

    /**
     * The state of every VM the spec puts on this server, from one `GET /nodes/{node}/qemu`
     * (a health pass looks at all of them; one list per server instead of three calls per
     * VM). A VM is taken by its VMID alone: ownership is vmStatus's question, not a probe's.
     */
    async vmStatuses(spec: ClusterSpec, serverName: string): Promise<{ role: VmRole; vmid: number; exists: boolean; status?: string; lock?: string }[]> {
      return onNode(spec, serverName, async (call) => {
        const list = await call.client.listVms();
        return (['lb', 'controlPlane', 'worker'] as const).flatMap((role) => {
          const vmid = call.server.vms[role]?.vmid;
          if (vmid === undefined) return [];
          const at = list.find((vm) => vm.vmid === vmid);
          return [at ? { role, vmid, exists: true, ...(at.status ? { status: at.status } : {}), ...(at.lock ? { lock: at.lock } : {}) } : { role, vmid, exists: false }];
        });
      });
    },

    /**
     * Starts the VM and waits until its guest answers on the spec address (cloud-init applied,
     * guest up): the Talos API for Talos VMs, sshd for the LB (core/images/readiness.ts).
     * Heartbeats while it polls; gives up (retryably) after `timeoutMs` (default: the spec's
     * health.nodeStartupTimeout), naming the VM, the address and the image it boots.
     */
    async bootVm(spec: ClusterSpec, serverName: string, role: VmRole, options: { timeoutMs?: number } = {}): Promise<{ vmid: number; started: boolean; ip: string; waitedMs: number; answeredBy: string }> {
      return onNode(spec, serverName, async (call) => {
        const desired = desiredOf(spec, call.server, role);
        const vm = await ourVm(call, spec, role);
        if (vm === 'missing') throw missingVm(spec, call.server, role);
        const started = await startIfStopped(call, vm.vmid);
        const plan = readinessPlan(spec, serverName, role);
        // The wait ends before the activity's own start-to-close timeout would (the spec allows
        // nodeStartupTimeout up to a day), so its failure names the VM, address and image.
        const startToCloseMs = activityContext()?.info.startToCloseTimeoutMs;
        const configured = options.timeoutMs ?? parseDuration(spec.health.nodeStartupTimeout);
        const limit = startToCloseMs !== undefined && startToCloseMs >= 60_000 ? startToCloseMs - 30_000 : Infinity;
        const booted = await waitUntilReady(call, desired, plan, Math.min(configured, limit));
        return { vmid: vm.vmid, started, ...booted };
      });
    },

    /**
     * Before anything is created: the ISO the server's Talos VMs boot is on the node's
     * storage and is not, by its name, a metal image (core/images/talos-image.ts). Read-only.
     */
    async checkBootImage(spec: ClusterSpec, serverName: string): Promise<{ server: string; isoVolume: string; platformByName: string }> {
      return onNode(spec, serverName, async (call) => {
        const index = spec.servers.indexOf(call.server);
        const isoVolume = call.server.proxmox.isoVolume;
        const storage = isoVolume.slice(0, isoVolume.indexOf(':'));
        const listed = (await call.client.storageContent(storage, 'iso')).map((v) => v.volid);
        const problem = bootImageProblem({ field: `servers[${index}].proxmox.isoVolume`, isoVolume, listed, node: call.server.proxmox.node, talosVersion: spec.talos.version, schematic: spec.talos.image?.schematic });
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'TalosImageMismatch', { server: call.server.name, isoVolume });
        return { server: call.server.name, isoVolume, platformByName: platformByName(isoVolume) };
      });
    },

    /** The cluster's VMs on the server's node, by their tags. */
    async listClusterVms(spec: ClusterSpec, serverName: string): Promise<ClusterVm[]> {
      return onNode(spec, serverName, async (call) => {
        const list = await call.client.listVms();
        return list.flatMap((vm) => {
          const role = clusterVmRole(vm, spec);
          return role ? [{ vmid: vm.vmid, name: vm.name ?? '', role, status: vm.status ?? 'unknown', server: call.server.name, node: call.server.proxmox.node }] : [];
        });
      });
    },
  };
}

export type ProxmoxActivities = ReturnType<typeof createProxmoxActivities>;
