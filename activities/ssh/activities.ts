// Temporal activities of the LB layer: push one config file to one LB VM, push every LB
// config of a cluster in a safe order, read one file back. Built once in the worker from its
// dependencies (createActivities); what goes where is decided by pure functions
// (core/render/lb-files.ts, core/render/push-plan.ts).
//
// Each LB host is pushed under its own lock (core/push/host-lock.ts), all its files over one
// connection: two overlapping attempts of a push (a heartbeat timeout starts the next while
// the first still runs) take turns on a host instead of undoing each other's work.
import { Context } from '@temporalio/activity';
import type { HostLockOptions } from '../../core/push/host-lock';
import { lbConfigFiles, type LbFilesOptions, type LbProgram, type LbServerFacts, type RemoteConfigFile } from '../../core/render/lb-files';
import { isFirstElection, planLbPush, type KeepalivedLook, type LbPushStep } from '../../core/render/push-plan';
import type { ClusterSpec, ServerSpec } from '../../core/spec/schema';
import type { SecretResolver } from '../secrets';
import { KnownHostKeys } from './known-hosts';
import { pushConfigFiles, readRemoteFile, type PushDeps, type PushResult, type PushStage } from './push';
import type { OpenOptions } from './session';
import { sshTargetFor } from './target';
import { holdsVrrpAddress, keepalivedRunning, stopKeepalived } from './vrrp-look';

export interface SshActivityDeps {
  secrets: SecretResolver;
  ssh?: OpenOptions;
  /** Render options for every LB (e.g. a NodePort pair, nginx paths). */
  render?: LbFilesOptions;
  /** The LB hosts' push lock (path, stale bound, wait bound); defaults in core/push/host-lock.ts. */
  lock?: Partial<HostLockOptions>;
}

/** The cluster a server belongs to: its state directory records host keys trusted on first use. */
export type ClusterRef = Pick<ClusterSpec, 'metadata' | 'state'>;

export interface PushLbConfigInput {
  server: ServerSpec;
  file: RemoteConfigFile;
  cluster?: ClusterRef;
}

export interface PushLbConfigsResult {
  /** `<server>:<path>` of every file that changed (and was reloaded). */
  changed: string[];
  unchanged: string[];
  order: LbPushStep[];
  why: string;
  files: { server: string; program: LbProgram; path: string; changed: boolean; durationMs: number }[];
}

export function createSshActivities(deps: SshActivityDeps) {
  const sshFor = (cluster: ClusterRef | undefined): OpenOptions => ({ ...deps.ssh, ...(cluster ? { knownHosts: KnownHostKeys.forCluster(cluster) } : {}) });

  /** Pushes files to one LB host under its lock, heartbeating and cancellable inside an activity. */
  const pushHost = (server: ServerSpec, files: RemoteConfigFile[], cluster: ClusterRef | undefined): Promise<PushResult[]> =>
    pushConfigFiles(sshTargetFor(server), files, {
      secrets: deps.secrets,
      ssh: sshFor(cluster),
      lock: deps.lock,
      ...activityHooks((stage, detail, file) => ({ stage, detail: `${server.name}${file ? ` ${file.program ?? file.path}` : ''}${detail ? `: ${detail}` : ''}` })),
    });

  return {
    /** Safe push of one file to one LB VM (upload, validate on the target, swap, reload, probe, roll back on failure). */
    async pushLbConfigFile(input: PushLbConfigInput): Promise<PushResult> {
      return (await pushHost(input.server, [input.file], input.cluster))[0];
    },

    /**
     * Renders and pushes haproxy.cfg, nginx.conf and keepalived.conf to every LB: standby LBs
     * first, `activeServer` (the LB carrying the traffic, if known) last; but that one first
     * while its keepalived does not run yet, so it wins the first election (core/render/push-plan.ts). Stops at the first
     * failure, which has rolled its own file back, so a bad config never reaches the active LB.
     * Safe to retry: files already in place are "unchanged" and not reloaded again. `gateways`:
     * each server's IPv4 gateway as OVH reports it, in spec order (keepalived.conf's public route).
     */
    async pushLbConfigs(spec: ClusterSpec, opts: LbServerFacts & { activeServer?: string }): Promise<PushLbConfigsResult> {
      // Only a bootstrap names the active LB; then every LB is asked whether keepalived runs (isFirstElection).
      const looks: KeepalivedLook[] =
        opts.activeServer === undefined
          ? []
          : await Promise.all(
              spec.servers.map((s) =>
                keepalivedRunning(sshTargetFor(s), { secrets: deps.secrets, ssh: sshFor(spec) }).then(
                  (running): KeepalivedLook => (running ? 'running' : 'stopped'),
                  (): KeepalivedLook => 'unknown',
                ),
              ),
            );
      const plan = planLbPush(spec, opts.activeServer, isFirstElection(looks));
      const result: PushLbConfigsResult = { changed: [], unchanged: [], order: plan.steps, why: plan.why, files: [] };
      for (const step of plan.steps) {
        const server = spec.servers.find((s) => s.name === step.server)!;
        const files = lbConfigFiles(spec, server.name, { gateways: opts.gateways }, deps.render);
        const pushed = await pushHost(server, files, spec);
        for (const [i, file] of files.entries()) {
          const key = `${server.name}:${file.path}`;
          (pushed[i].changed ? result.changed : result.unchanged).push(key);
          result.files.push({ server: server.name, program: file.program, path: file.path, changed: pushed[i].changed, durationMs: pushed[i].durationMs });
        }
      }
      return result;
    },

    /** Whether the LB VM's keepalived is MASTER: its vRack NIC holds the API VIP (activities/ssh/vrrp-look.ts). */
    async lookVrrpMaster(spec: ClusterSpec, serverName: string): Promise<boolean> {
      const server = spec.servers.find((s) => s.name === serverName);
      if (!server) throw new Error(`${serverName} is not a server of ${spec.metadata.name}`);
      return holdsVrrpAddress(sshTargetFor(server), spec.network.interface, spec.network.apiVip, { secrets: deps.secrets, ssh: sshFor(spec) });
    },

    /**
     * Hands VRRP over before an LB VM goes away: stops its keepalived, so a BACKUP takes the
     * addresses (and, through its notify_master, the public link and the IP) at once.
     */
    async releaseVrrp(spec: ClusterSpec, serverName: string): Promise<{ stopped: boolean; detail: string }> {
      const server = spec.servers.find((s) => s.name === serverName);
      if (!server) throw new Error(`${serverName} is not a server of ${spec.metadata.name}`);
      return stopKeepalived(sshTargetFor(server), { secrets: deps.secrets, ssh: sshFor(spec) });
    },

    /** The file as it is on the LB VM (null when absent), e.g. to show a diff before a push. */
    async readLbConfigFile(input: { server: ServerSpec; path: string; cluster?: ClusterRef }): Promise<string | null> {
      return (await readRemoteFile(sshTargetFor(input.server), input.path, { secrets: deps.secrets, ssh: sshFor(input.cluster) })) ?? null;
    },
  };
}

type StageDetails = (stage: PushStage, detail: string | undefined, file: (RemoteConfigFile & { program?: string }) | undefined) => Record<string, unknown>;

/**
 * Inside an activity: stages and loop beats as heartbeats, the activity's cancellation, and
 * the attempt's identity for the host lock. Outside one (plain calls, the CLI): nothing.
 */
function activityHooks(describe: StageDetails): Pick<PushDeps, 'onProgress' | 'heartbeat' | 'signal' | 'attempt'> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return {};
  }
  const { workflowExecution, activityId, attempt } = context.info;
  return {
    onProgress: (stage, detail, file) => context.heartbeat(describe(stage, detail, file)),
    heartbeat: (details) => context.heartbeat(details),
    signal: context.cancellationSignal,
    attempt: `${workflowExecution?.workflowId ?? 'activity'}/${activityId}#${attempt}`,
  };
}
