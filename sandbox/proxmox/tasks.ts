// Proxmox worker tasks: each mutating call that forks a worker gets a UPID at once and
// runs for its latency; its effect lands when it ends, with exit status "OK" or the error
// message (as `TASK ERROR: ...` becomes the exit status on a real node). A `taskError`
// fault ends it in error with no effect. Every completion is audited.
import type { AuditLog, AuditOutcome } from '../audit';
import { paramError } from './envelope';
import { PVE_MESSAGES as M } from './messages';
import { formatUpid, parseUpid, type Upid } from './upid';

/** Who asks, and whether a fault makes the task fail. */
export interface CallContext {
  /** The token ID, which becomes the UPID's user. */
  user: string;
  /** Set by a `taskError` fault: the task ends with this exit status and no effect. */
  taskError?: string;
}

export interface TaskPlan {
  /** qmcreate, qmstart, ... */
  type: string;
  vmid: number;
  latencyMs: number;
  /** Runs when the task ends; throwing ends it with the message as exit status. */
  run(): void;
  /** Undoes what the synchronous part reserved, when the task fails. */
  cleanup?(): void;
}

/** A task as GET .../tasks/{upid}/status shows it: the UPID's fields, the UPID itself and the outcome. */
interface TaskRecord extends Upid {
  upid: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
}

export class TaskRunner {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextPid = 0x1000 + Math.floor(Math.random() * 0xf000);
  private readonly pstartBase = 0x100000 + Math.floor(Math.random() * 0xfffff);

  constructor(private readonly o: { node: string; service: string; audit: AuditLog }) {}

  /** Starts a task and returns its UPID. */
  start(ctx: CallContext, plan: TaskPlan): string {
    const pid = this.nextPid++;
    const task: TaskRecord = {
      upid: '',
      node: this.o.node,
      pid,
      pstart: this.pstartBase + pid,
      starttime: Math.floor(Date.now() / 1000),
      type: plan.type,
      id: String(plan.vmid),
      user: ctx.user,
      status: 'running',
    };
    task.upid = formatUpid(task);
    this.tasks.set(task.upid, task);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.finish(task, ctx, plan);
    }, plan.latencyMs);
    this.timers.add(timer);
    return task.upid;
  }

  private finish(task: TaskRecord, ctx: CallContext, plan: TaskPlan): void {
    let exitstatus = 'OK';
    let outcome: AuditOutcome = 'ok';
    if (ctx.taskError !== undefined) {
      exitstatus = ctx.taskError;
      outcome = 'fault';
    } else {
      try {
        plan.run();
      } catch (err) {
        exitstatus = (err as Error).message;
        outcome = 'rejected';
      }
    }
    if (exitstatus !== 'OK') plan.cleanup?.();
    task.status = 'stopped';
    task.exitstatus = exitstatus;
    task.endtime = Math.floor(Date.now() / 1000);
    this.o.audit.record({ service: this.o.service, action: 'task', target: String(plan.vmid), outcome, detail: { type: plan.type, upid: task.upid, exitstatus } });
  }

  /**
   * GET /nodes/{node}/tasks/{upid}/status. pve-manager PVE/API2/Tasks.pm read_task_status:
   * a UPID that does not decode, or whose task log file is missing, is a parameter error
   * (400 with errors.upid), not a runtime one.
   */
  status(upid: string): Record<string, unknown> {
    if (!parseUpid(upid)) throw paramError({ upid: M.unparsableUpid });
    const t = this.tasks.get(upid);
    if (!t) throw paramError({ upid: M.noSuchTask });
    const [user, tokenid] = t.user.split('!');
    const out: Record<string, unknown> = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user, status: t.status };
    if (tokenid) out.tokenid = tokenid;
    if (t.status === 'stopped') out.exitstatus = t.exitstatus;
    return out;
  }

  /**
   * Forgets every task, as a node whose task logs are gone (reinstalled, or
   * /var/log/pve/tasks wiped) would. A reboot alone keeps them: a task that ran through
   * it reads as stopped with `unexpected status`.
   */
  forgetAll(): void {
    this.tasks.clear();
  }

  /** Cancels pending tasks (the simulator is stopping). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
