// Waiting for a Proxmox task (UPID) to end: poll GET /nodes/{node}/tasks/{upid}/status,
// report progress on every poll, and turn an exit status other than OK into an error that
// carries Proxmox's own message.
//
// A task that vanishes: the node answers `400 Parameter verification failed.` with
// `errors.upid = "no such task"` when the task's log file is gone (pve-manager
// PVE/API2/Tasks.pm read_task_status). A reboot does not do that (the log stays and the task
// reads as stopped with "unexpected status"); a reinstalled node or a wiped task log does.
// For a UPID this node gave us, the task's outcome is then unknown, not a bad request:
// the wait fails retryably ('ProxmoxTaskLost') and the activity's retry looks at the VM
// again before it acts (every mutating activity looks first), instead of the bootstrap
// failing on a non-retryable 400.
import { ApplicationFailure } from '@temporalio/common';
import type { ProxmoxClient, TaskStatus } from './client';
import { ProxmoxHttpError, ProxmoxTaskError } from './errors';
import { sleep } from '../activity-context';
import type { OnProgress } from './progress';

export interface WaitOptions {
  pollIntervalMs: number;
  /** Give up (retryably) after this long; default 10 minutes. */
  timeoutMs?: number;
  onProgress?: OnProgress;
  signal?: AbortSignal;
}

/** Proxmox marks a task that succeeded with warnings as "WARNINGS: <n>". */
export function taskSucceeded(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus ?? '');
}

export async function waitForTask(client: ProxmoxClient, upid: string, o: WaitOptions): Promise<TaskStatus> {
  const started = Date.now();
  const timeoutMs = o.timeoutMs ?? 600_000;
  for (let poll = 0; ; poll++) {
    const status = await client.taskStatus(upid).catch((err: unknown) => {
      // Only "no such task" means the node forgot it; "unable to parse worker upid" is a bad UPID, a bug to surface.
      if (err instanceof ProxmoxHttpError && err.status === 400 && /no such task/.test(err.errors?.upid ?? '')) {
        throw ApplicationFailure.retryable(
          `Proxmox node ${client.node} no longer knows task ${upid} (${(err.errors?.upid ?? "").trim()}): its task log is gone (node reinstalled or /var/log/pve/tasks cleaned), so the task's outcome is unknown; the activity will look at the VM again`,
          'ProxmoxTaskLost',
          { upid, node: client.node },
        );
      }
      throw err;
    });
    o.onProgress?.({ upid, type: status.type, id: status.id, status: status.status, poll, waitedMs: Date.now() - started });
    if (status.status === 'stopped') {
      if (taskSucceeded(status.exitstatus)) return status;
      throw new ProxmoxTaskError(upid, status.type, status.id, status.exitstatus ?? 'unknown exit status');
    }
    if (Date.now() - started > timeoutMs) {
      throw ApplicationFailure.retryable(
        `Proxmox task ${upid} (${status.type} for VM ${status.id}) on node ${client.node} still runs after ${Math.round(timeoutMs / 1000)} s; it may be stuck on a storage or a lock: see the node's task log`,
        'ProxmoxTaskTimeout',
      );
    }
    await sleep(o.pollIntervalMs, o.signal);
  }
}
