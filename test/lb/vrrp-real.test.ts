// keepalived with the rendered config in three namespaces: one LB holds the API VIP, and
// when its keepalived stops a BACKUP takes the VIP and runs notify_master (here a script
// that records its arguments in place of `autok8s failover`). Root only; bounded in time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../core/spec/schema';
import { NetnsLab, netnsUnavailableReason, type LabHost } from '../../sandbox/netns/lab';
import { KeepalivedGroup } from '../../sandbox/netns/vrrp';
import { labSpec, serverName } from './helpers';
import { requireInCi } from '../helpers/prerequisites';

const unavailable = netnsUnavailableReason(['ip', 'keepalived']);
/** 3 × advert_int + skew is under 4 s; allow for a slow, shared machine. */
const TAKEOVER_BUDGET_MS = 15_000;

describe.skipIf(requireInCi(unavailable, 'VRRP between real keepalived'))(unavailable ? `VRRP failover between real keepalived (skipped: ${unavailable})` : 'VRRP failover between real keepalived in network namespaces', () => {
  let lab: NetnsLab;
  let spec: ClusterSpec;
  let group: KeepalivedGroup;

  beforeAll(async () => {
    lab = await NetnsLab.create();
    spec = labSpec(lab, { servers: 3 });
    const hosts: Record<string, LabHost> = {};
    for (let i = 0; i < 3; i++) hosts[serverName(i)] = await lab.addHost(`lb-${i}`, spec.servers[i].vms.lb.ip);
    group = await KeepalivedGroup.start(lab, spec, hosts);
  });

  afterAll(async () => {
    await group?.stopAll();
    await lab?.teardown();
  });

  const failoverLine = (server: string) => `failover --cluster ${spec.metadata.name} --ip 203.0.113.10 --to ${server} --reason keepalived`;
  /** keepalived's own count: more adverts than a BACKUP's master-down timer lasts (3 × advert_int + skew < 4 adverts). */
  const PAST_MASTER_DOWN = 5;

  it('elects one MASTER, which calls failover for itself; the others hear it and never became MASTER', async () => {
    const holder = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
    expect((await group.stats(holder)).becameMaster).toBe(1);
    for (const other of spec.servers.map((s) => s.name).filter((n) => n !== holder)) {
      // Counters since each keepalived started: no moment with a second MASTER, and the unicast adverts arrive.
      const heard = await group.statsUntil(other, "hearing the MASTER's adverts", (s) => s.advertsReceived > 0);
      expect(heard, other).toMatchObject({ becameMaster: 0, advertsSent: 0 });
    }
    await expect.poll(() => group.notifications(), { timeout: 5_000 }).toContainEqual(failoverLine(holder));
    expect(await group.notifications(), 'one notify_master: only the MASTER asked for the IP').toEqual([failoverLine(holder)]);
  });

  it('moves the VIP to a BACKUP when the MASTER keepalived stops, and the new MASTER calls failover', async () => {
    const before = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
    await group.stop(before); // SIGTERM: it releases the VIP with a priority-0 advert
    const after = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS, [before]);
    // Taken over because the MASTER resigned (its priority-0 advert), by one BACKUP only.
    expect(await group.stats(after)).toMatchObject({ becameMaster: 1, priorityZeroReceived: 1 });
    const third = spec.servers.map((s) => s.name).find((n) => n !== before && n !== after)!;
    expect(await group.stats(third)).toMatchObject({ becameMaster: 0, priorityZeroReceived: 1 });
    await expect.poll(() => group.notifications(), { timeout: 5_000 }).toContainEqual(failoverLine(after));
    const notified = (await group.notifications()).length;

    // nopreempt: the old MASTER, the highest priority, comes back as BACKUP and leaves the VIP
    // where it is: it hears the new MASTER's adverts for longer than a preempting BACKUP would
    // wait before taking over, and never becomes MASTER.
    group.restart(before);
    const back = await group.statsUntil(before, `hearing ${PAST_MASTER_DOWN} adverts`, (s) => s.advertsReceived >= PAST_MASTER_DOWN, TAKEOVER_BUDGET_MS);
    expect(back).toMatchObject({ becameMaster: 0, advertsSent: 0 });
    expect(await group.holders()).toEqual([after]);
    expect((await group.notifications()).length, 'no notify_master after the old MASTER came back').toBe(notified);
  });

  it("moves the VIP when the MASTER's HAProxy stops answering (the tracked vrrp_script), and the new MASTER calls failover", async () => {
    const before = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
    const notified = (await group.notifications()).length;
    await group.stopHaproxy(before); // keepalived itself keeps running: only its check fails
    const after = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS, [before]);
    await expect.poll(() => group.notifications(), { timeout: 5_000 }).toContainEqual(failoverLine(after));
    expect((await group.notifications()).length - notified, 'one notify_master, from the new MASTER').toBe(1);

    // HAProxy back: the old MASTER leaves FAULT as BACKUP (nopreempt) and the VIP stays.
    await group.startHaproxy(before);
    // Past the check's rise (2 intervals) and a master-down interval: time to preempt, were it allowed.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await group.holders()).toEqual([after]);
    expect((await group.notifications()).length - notified, 'no notify_master after HAProxy came back').toBe(1);
  });
});
