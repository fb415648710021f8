// Temporal activities of the LB layer: push one config file to one LB VM, push every LB
// config of a cluster in a safe order, read one file back. Built once in the worker from its
// dependencies (createActivities); what goes where is decided by pure functions
// (core/render/lb-files.ts, core/render/push-plan.ts).
import { Context } from '@temporalio/activity';
import { lbConfigFiles, type LbFilesOptions, type LbProgram, type RemoteConfigFile } from '../../core/render/lb-files';
import { planLbPush, type LbPushStep } from '../../core/render/push-plan';
import type { ClusterSpec, ServerSpec } from '../../core/spec/schema';
import type { SecretResolver } from '../secrets';
import { pushConfigFile, readRemoteFile, type PushResult, type PushStage } from './push';
import type { OpenOptions } from './session';
import { sshTargetFor } from './target';

export interface SshActivityDeps {
  secrets: SecretResolver;
  ssh?: OpenOptions;
  /** Render options for every LB (e.g. a NodePort pair, nginx paths). */
  render?: LbFilesOptions;
}

export interface PushLbConfigInput {
  server: ServerSpec;
  file: RemoteConfigFile;
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
  const push = (server: ServerSpec, file: RemoteConfigFile, onProgress = heartbeatStage) =>
    pushConfigFile(sshTargetFor(server), file, { secrets: deps.secrets, ssh: deps.ssh, onProgress });

  return {
    /** Safe push of one file to one LB VM (upload, validate on the target, swap, reload, probe, roll back on failure). */
    async pushLbConfigFile(input: PushLbConfigInput): Promise<PushResult> {
      return push(input.server, input.file);
    },

    /**
     * Renders and pushes haproxy.cfg, nginx.conf and keepalived.conf to every LB: standby LBs
     * first, `activeServer` (the LB carrying the traffic, if known) last. Stops at the first
     * failure, which has rolled its own file back, so a bad config never reaches the active LB.
     * Safe to retry: files already in place are "unchanged" and not reloaded again.
     */
    async pushLbConfigs(spec: ClusterSpec, opts: { activeServer?: string } = {}): Promise<PushLbConfigsResult> {
      const plan = planLbPush(spec, opts.activeServer);
      const result: PushLbConfigsResult = { changed: [], unchanged: [], order: plan.steps, why: plan.why, files: [] };
      for (const step of plan.steps) {
        const server = spec.servers.find((s) => s.name === step.server)!;
        for (const file of lbConfigFiles(spec, server.name, deps.render)) {
          const pushed = await push(server, file, (stage, detail) => heartbeatStage(stage, `${server.name} ${file.program}${detail ? `: ${detail}` : ''}`));
          const key = `${server.name}:${file.path}`;
          (pushed.changed ? result.changed : result.unchanged).push(key);
          result.files.push({ server: server.name, program: file.program, path: file.path, changed: pushed.changed, durationMs: pushed.durationMs });
        }
      }
      return result;
    },

    /** The file as it is on the LB VM (null when absent), e.g. to show a diff before a push. */
    async readLbConfigFile(input: { server: ServerSpec; path: string }): Promise<string | null> {
      return (await readRemoteFile(sshTargetFor(input.server), input.path, { secrets: deps.secrets, ssh: deps.ssh })) ?? null;
    },
  };
}

/** Heartbeats with the push stage when running as an activity; a no-op in plain calls. */
function heartbeatStage(stage: PushStage, detail?: string): void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return;
  }
  context.heartbeat({ stage, detail });
}
