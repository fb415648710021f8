// keepalived on the in-process LB hosts: one VRRP instance (the rendered `autok8s_api`,
// core/render/keepalived.ts) per LB, elected the way keepalived elects it, with its timing,
// and the notify actions of every transition handed to a hook the test, demo or dev stack
// supplies (the sandbox itself never talks to Temporal).
//
// What is modelled, after RFC 3768 (VRRPv2, keepalived's default) and keepalived's docs:
// - Every instance starts as BACKUP (`state BACKUP`, `nopreempt`) and waits the master-down
//   interval, 3 × advert_int + skew, skew = (256 − priority) / 256 × advert_int: the highest
//   priority's timer runs out first, it becomes MASTER and its adverts (every advert_int)
//   keep the others BACKUP.
// - nopreempt: a BACKUP hearing a lower-priority MASTER stays BACKUP; a MASTER hearing a
//   higher-priority advert steps down (RFC 3768 §6.4.3 — nopreempt concerns BACKUPs only).
// - Stopping keepalived on the MASTER sends one advert with priority 0: the BACKUPs take over
//   after their skew time instead of the full master-down interval (§6.4.3). notify_stop runs.
// - The HAProxy check (the rendered `vrrp_script` tracked by the instance, which puts it in FAULT while
//   it fails `fall` times in a row and out of it after `rise` successes): a FAULT instance
//   holds nothing and sends no adverts. Modelled with the values TRACK_SCRIPT below.
// - A split brain (keepalived issues #100, #950): `isolate(server, ms)` stops an instance
//   hearing adverts for a while (a vRack hiccup, a busy host); its master-down timer runs
//   out, it becomes MASTER beside the real one, and when adverts reach it again it hears the
//   higher priority and steps down. The real MASTER hears only lower-priority adverts, so it
//   never transitions: nothing in keepalived makes it notify again.
//
// The MASTER holds the instance's addresses (`virtual_ipaddress`: the API VIP, and the
// failover IPs on the public NIC); `holders()` says who holds them now, for the simulated
// internet (sandbox/public-delivery.ts) and the hosts' `ip addr` (the health pass's look).
import { KEEPALIVED_DEFAULTS } from '../core/render/keepalived';
import type { AuditLog } from './audit';

export type VrrpState = 'STOPPED' | 'BACKUP' | 'MASTER' | 'FAULT';
/** keepalived's notify_* script the transition runs. */
export type VrrpEvent = 'master' | 'backup' | 'fault' | 'stop';

/** The HAProxy check the simulated instances track: keepalived's vrrp_script interval, fall, rise. */
export const TRACK_SCRIPT = {
  intervalMs: KEEPALIVED_DEFAULTS.advertIntSeconds * 1000,
  fall: KEEPALIVED_DEFAULTS.haproxyCheckFall,
  rise: KEEPALIVED_DEFAULTS.haproxyCheckRise,
} as const;

export interface VrrpMember {
  server: string;
  priority: number;
}

export interface VrrpSimOptions {
  members: VrrpMember[];
  /** advert_int (KEEPALIVED_DEFAULTS.advertIntSeconds × 1000). */
  advertIntMs: number;
  /** Whether this LB's HAProxy answers now (the track script's check). */
  haproxyAnswers: (server: string) => Promise<boolean>;
  /** Called with the addresses each host holds after every transition (its `ip addr`). */
  onHold?: (server: string, holds: boolean) => void;
  audit?: AuditLog;
  /** Start every instance at once (default true), as a bootstrapped LB VM runs keepalived. */
  running?: boolean;
}

export type VrrpNotifyHook = (server: string, event: VrrpEvent) => Promise<void>;

interface Instance extends VrrpMember {
  state: VrrpState;
  masterSince?: number;
  masterDown?: NodeJS.Timeout;
  advert?: NodeJS.Timeout;
  deafUntil: number;
  fails: number;
  passes: number;
}

export class VrrpSimulation {
  private readonly instances: Instance[];
  private notifyHook: VrrpNotifyHook | undefined;
  private readonly pending = new Set<Promise<void>>();
  private trackTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: VrrpSimOptions) {
    this.instances = opts.members.map((m) => ({ ...m, state: 'STOPPED', deafUntil: 0, fails: 0, passes: 0 }));
    if (opts.running !== false) for (const i of this.instances) this.start(i.server);
    this.trackTimer = setInterval(() => void this.track(), TRACK_SCRIPT.intervalMs);
    this.trackTimer.unref();
  }

  /** What runs the notify scripts (`autok8s lb link …`, `autok8s failover …`); without one, transitions notify nobody. */
  onNotify(hook: VrrpNotifyHook | undefined): void {
    this.notifyHook = hook;
  }

  state(server: string): VrrpState {
    return this.find(server).state;
  }

  /** The servers whose instance is MASTER (holds the addresses), the latest takeover first. */
  holders(): string[] {
    return this.instances.filter((i) => i.state === 'MASTER').sort((a, b) => b.masterSince! - a.masterSince!).map((i) => i.server);
  }

  /** `systemctl start keepalived`: BACKUP, and the master-down timer. */
  start(server: string): void {
    const i = this.find(server);
    if (i.state !== 'STOPPED') return;
    i.fails = 0;
    i.passes = TRACK_SCRIPT.rise;
    this.move(i, 'BACKUP', 'keepalived started', 'backup');
    this.armMasterDown(i, this.masterDownMs(i));
  }

  /** `systemctl stop keepalived`: a MASTER's last advert has priority 0, so a BACKUP takes over after its skew time. */
  stop(server: string): void {
    const i = this.find(server);
    if (i.state === 'STOPPED') return;
    const wasMaster = i.state === 'MASTER';
    this.clearTimers(i);
    this.move(i, 'STOPPED', 'keepalived stopped', 'stop');
    if (wasMaster) this.advertise(i, 0);
  }

  /** For `ms`, the instance hears no adverts (a split brain: it becomes MASTER beside the real one, then steps down). */
  isolate(server: string, ms: number): void {
    const i = this.find(server);
    i.deafUntil = Date.now() + ms;
  }

  /** Resolves when every notify the transitions so far started has run. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    clearInterval(this.trackTimer);
    for (const i of this.instances) this.clearTimers(i);
    await this.settled();
  }

  private find(server: string): Instance {
    const i = this.instances.find((x) => x.server === server);
    if (!i) throw new Error(`no LB ${server}; LBs: ${this.instances.map((x) => x.server).join(', ')}`);
    return i;
  }

  private skewMs(i: Instance): number {
    return ((256 - i.priority) * this.opts.advertIntMs) / 256;
  }

  private masterDownMs(i: Instance): number {
    return 3 * this.opts.advertIntMs + this.skewMs(i);
  }

  private armMasterDown(i: Instance, ms: number, why = 'no advert within the master-down interval'): void {
    clearTimeout(i.masterDown);
    i.masterDown = setTimeout(() => {
      if (i.state === 'BACKUP') this.becomeMaster(i, why);
    }, ms);
    i.masterDown.unref();
  }

  private clearTimers(i: Instance): void {
    clearTimeout(i.masterDown);
    clearInterval(i.advert);
    i.masterDown = undefined;
    i.advert = undefined;
  }

  private becomeMaster(i: Instance, why: string): void {
    i.masterSince = Date.now();
    this.move(i, 'MASTER', why, 'master');
    this.advertise(i, i.priority);
    i.advert = setInterval(() => this.advertise(i, i.priority), this.opts.advertIntMs);
    i.advert.unref();
  }

  /** One advert from `from`, heard by every other running instance that is not deaf. */
  private advertise(from: Instance, priority: number): void {
    for (const to of this.instances) {
      if (to === from || to.state === 'STOPPED' || to.state === 'FAULT' || Date.now() < to.deafUntil) continue;
      if (to.state === 'BACKUP') {
        if (priority === 0) this.armMasterDown(to, this.skewMs(to), `${from.server}, the MASTER, resigned (priority 0 advert); skew time over`);
        else this.armMasterDown(to, this.masterDownMs(to));
      } else if (to.state === 'MASTER' && priority > to.priority) {
        clearInterval(to.advert);
        to.advert = undefined;
        this.move(to, 'BACKUP', `heard ${from.server}'s advert with a higher priority (${priority} > ${to.priority})`, 'backup');
        this.armMasterDown(to, this.masterDownMs(to));
      }
    }
  }

  /** The tracked HAProxy check: fall failures in a row → FAULT; rise successes → BACKUP again. */
  private async track(): Promise<void> {
    await Promise.all(
      this.instances.map(async (i) => {
        if (i.state === 'STOPPED') return;
        const ok = await this.opts.haproxyAnswers(i.server).catch(() => false);
        if ((i.state as VrrpState) === 'STOPPED') return; // stopped while the check ran
        if (ok) {
          i.fails = 0;
          i.passes += 1;
          if (i.state === 'FAULT' && i.passes >= TRACK_SCRIPT.rise) {
            this.move(i, 'BACKUP', 'the HAProxy check passes again', 'backup');
            this.armMasterDown(i, this.masterDownMs(i));
          }
          return;
        }
        i.passes = 0;
        i.fails += 1;
        if (i.state !== 'FAULT' && i.fails >= TRACK_SCRIPT.fall) {
          const wasMaster = i.state === 'MASTER';
          this.clearTimers(i);
          this.move(i, 'FAULT', `the HAProxy check failed ${i.fails} times`, 'fault');
          // A MASTER going to FAULT resigns like a stop: priority 0 (keepalived vrrp_state_leave_master).
          if (wasMaster) this.advertise(i, 0);
        }
      }),
    );
  }

  private move(i: Instance, to: VrrpState, why: string, event?: VrrpEvent): void {
    const from = i.state;
    i.state = to;
    if (to !== 'MASTER') i.masterSince = undefined;
    this.opts.audit?.record({ service: `keepalived:${i.server}`, action: 'vrrp', target: to, outcome: 'ok', detail: { from, why } });
    this.opts.onHold?.(i.server, to === 'MASTER');
    if (event) this.notify(i, event);
  }

  private notify(i: Instance, event: VrrpEvent): void {
    const hook = this.notifyHook;
    if (!hook) return;
    // keepalived forks the script and does not wait for it: transitions go on meanwhile.
    const record = (outcome: 'ok' | 'rejected', detail?: Record<string, unknown>) => {
      this.opts.audit?.record({ service: `keepalived:${i.server}`, action: `notify_${event}`, target: i.server, outcome, detail });
    };
    const run = hook(i.server, event).then(
      () => record('ok'),
      (err: unknown) => record('rejected', { error: err instanceof Error ? err.message : String(err) }),
    );
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }
}
