import { describe, expect, it } from 'vitest';
import { decideReboot, type RebootLook } from '../../core/policies/reboot-once';

const running = (uptimeSeconds: number) => ({ status: 'running', uptimeSeconds });

describe('decideReboot', () => {
  const cases: [string, RebootLook, ReturnType<typeof decideReboot>['act']][] = [
    ['a first attempt reboots a running VM', { attempt: 1, vm: running(3_600), sinceFirstScheduledMs: 10 }, 'reboot'],
    ['a first attempt reboots even a VM that booted a moment ago', { attempt: 1, vm: running(0), sinceFirstScheduledMs: 60_000 }, 'reboot'],
    ['a plain call (no activity) reboots', { vm: running(0) }, 'reboot'],
    ['a stopped VM is started', { attempt: 1, vm: { status: 'stopped' } }, 'start'],
    ['a retry waits for the reboot task its earlier attempt started', { attempt: 2, vm: running(0), earlierTask: { running: true, succeeded: false } }, 'waitForEarlierTask'],
    ['a retry whose earlier reboot task succeeded does nothing', { attempt: 2, vm: running(5_000), earlierTask: { running: false, succeeded: true }, sinceFirstScheduledMs: 1_000 }, 'nothing'],
    ['a retry whose earlier reboot task failed reboots', { attempt: 2, vm: running(5_000), earlierTask: { running: false, succeeded: false }, sinceFirstScheduledMs: 1_000 }, 'reboot'],
    ['a retry whose earlier reboot left the VM stopped starts it', { attempt: 2, vm: { status: 'stopped' }, earlierTask: { running: false, succeeded: false } }, 'start'],
    ['a retry finding the VM up for less time than since the first attempt does nothing', { attempt: 3, vm: running(20), sinceFirstScheduledMs: 45_000 }, 'nothing'],
    ['a retry finding the VM up for longer than since the first attempt reboots', { attempt: 3, vm: running(3_600), sinceFirstScheduledMs: 45_000 }, 'reboot'],
    ['whole seconds of uptime: 4 s reported may be 4.9 s, not less than 5 s: reboots', { attempt: 2, vm: running(4), sinceFirstScheduledMs: 4_900 }, 'reboot'],
    ['a retry that cannot see the uptime reboots', { attempt: 2, vm: { status: 'running' }, sinceFirstScheduledMs: 45_000 }, 'reboot'],
  ];
  it.each(cases)('%s', (_name, look, act) => {
    expect(decideReboot(look).act).toBe(act);
  });
});
