// Whether a rebootVm attempt reboots, from what it sees: a retried attempt must not reboot
// a VM that an earlier attempt (or anyone) already rebooted since the activity was first
// scheduled. Two things tell: the reboot task an earlier attempt started (its UPID travels
// in the activity's heartbeat details), and the VM's uptime, shorter than the time since the
// first attempt was scheduled. Pure.

export interface RebootLook {
  /** The activity's attempt (1 = first); undefined outside an activity. */
  attempt?: number;
  vm: { status: string; uptimeSeconds?: number };
  /** The reboot task an earlier attempt started, as Proxmox reports it now. */
  earlierTask?: { running: boolean; succeeded: boolean };
  /** Time since the activity was first scheduled (its first attempt). */
  sinceFirstScheduledMs?: number;
}

export type RebootDecision =
  | { act: 'waitForEarlierTask'; why: string }
  | { act: 'nothing'; why: string }
  | { act: 'reboot'; why: string }
  | { act: 'start'; why: string };

export function decideReboot(look: RebootLook): RebootDecision {
  if (look.earlierTask?.running) return { act: 'waitForEarlierTask', why: 'the reboot an earlier attempt started is still running' };
  if (look.vm.status !== 'running') return { act: 'start', why: `the VM is ${look.vm.status}` };
  if (look.earlierTask?.succeeded) return { act: 'nothing', why: 'an earlier attempt rebooted the VM' };
  // Proxmox reports whole seconds: the VM has been up less than uptime+1 s. Only a retry
  // looks, so a first attempt always does what it was asked even if the VM booted lately.
  const { uptimeSeconds } = look.vm;
  if ((look.attempt ?? 1) > 1 && uptimeSeconds !== undefined && look.sinceFirstScheduledMs !== undefined && (uptimeSeconds + 1) * 1000 <= look.sinceFirstScheduledMs) {
    return { act: 'nothing', why: `the VM has been up ${uptimeSeconds} s, less than the ${Math.round(look.sinceFirstScheduledMs / 1000)} s since the first attempt: it was rebooted since` };
  }
  return { act: 'reboot', why: 'the VM runs and has not restarted since the first attempt' };
}
