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

  it('elects exactly one holder of the VIP, which calls failover for itself', async () => {
    const holder = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
    expect(spec.servers.map((s) => s.name)).toContain(holder);
    await expect.poll(() => group.notifications(), { timeout: 5_000 }).toContainEqual(
      `failover -f /etc/autok8s/cluster.yaml --ip 203.0.113.10 --to ${holder} --reason keepalived`,
    );
  });

  it('moves the VIP to a BACKUP when the MASTER keepalived stops, and the new MASTER calls failover', async () => {
    const before = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
    await group.stop(before);
    const after = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS, [before]);
    expect(after).not.toBe(before);
    expect(await group.holders()).toEqual([after]);
    await expect.poll(() => group.notifications(), { timeout: 5_000 }).toContainEqual(
      `failover -f /etc/autok8s/cluster.yaml --ip 203.0.113.10 --to ${after} --reason keepalived`,
    );

    // nopreempt: the old MASTER comes back as BACKUP and leaves the VIP where it is.
    group.restart(before);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await group.holders()).toEqual([after]);
  });
});
