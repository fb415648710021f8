// Plan-time checks of the public path against what OVH says about each server, before anything
// is created: can the server do the chosen mode, and can a failover IP move between all of them.
// Pure: the facts are read by an activity (phase 2: GET /dedicated/server/{sn} and
// GET /dedicated/server/{sn}/specifications/network), these functions decide.
import type { ClusterSpec } from '../spec/schema';
import { publicPathOf } from './modes';

/** What autok8s reads from OVH about one server (dedicated.server.Dedicated and dedicated.server.NetworkSpecifications). */
export interface ServerPublicFacts {
  /** specifications/network vmac.supported: the server can carry virtual MACs. */
  vmacSupported: boolean;
  /** specifications/network routing.ipv4.gateway (nullable in OVH's schema). */
  gateway: string | null;
  /** dedicated.server.Dedicated datacenter (dedicated.DatacenterEnum), e.g. gra1, rbx7, bhs1. */
  datacenter: string;
  /** dedicated.server.Dedicated region, e.g. as OVH labels it; shown in messages only. */
  region: string;
}

export type Issue = { path: (string | number)[]; message: string };

/**
 * Failover IPs move only within one region group (OVH's IP move guide). GRA, RBX and SBG form
 * one group (documented). Every other datacenter family (its letters: bhs, waw, lim, eri, ...)
 * is taken as a group of its own: an assumption, the guide does not list them all.
 */
const SHARED_GROUPS: Record<string, string> = { gra: 'gra-rbx-sbg', rbx: 'gra-rbx-sbg', sbg: 'gra-rbx-sbg' };

export function moveRegionGroup(datacenter: string): string {
  const family = /^[a-z]+/.exec(datacenter.toLowerCase())?.[0] ?? datacenter;
  return SHARED_GROUPS[family] ?? family;
}

/** Every reason the servers cannot carry the spec's public path; empty when they can. */
export function serverFactIssues(spec: ClusterSpec, facts: readonly ServerPublicFacts[]): Issue[] {
  if (facts.length !== spec.servers.length) {
    throw new Error(`serverFactIssues: ${facts.length} fact records for ${spec.servers.length} servers; read them for every server, in spec order`);
  }
  const issues: Issue[] = [];
  const mode = publicPathOf(spec).mode;
  spec.servers.forEach((server, i) => {
    const f = facts[i];
    const where = ['servers', i, 'ovhService'];
    if (mode === 'vmac' && !f.vmacSupported) {
      issues.push({
        path: where,
        message: `${server.ovhService} does not support virtual MACs (specifications/network vmac.supported is false), which publicPath.mode vmac needs; choose publicPath.mode routed or vrack-block, or another server`,
      });
    }
    if (mode !== 'vrack-block' && f.gateway === null) {
      issues.push({
        path: where,
        message: `${server.ovhService} has no IPv4 gateway in specifications/network (routing.ipv4.gateway), which publicPath.mode ${mode} needs to send the failover IP's traffic out; check the server's network in the OVH control panel, or choose publicPath.mode vrack-block`,
      });
    }
  });
  // vrack-block addresses never move between servers, so only the other modes care.
  if (mode !== 'vrack-block') {
    const groups = new Map<string, number[]>();
    facts.forEach((f, i) => groups.set(moveRegionGroup(f.datacenter), [...(groups.get(moveRegionGroup(f.datacenter)) ?? []), i]));
    if (groups.size > 1) {
      const describe = [...groups.values()]
        .map((idx) => idx.map((i) => `servers[${i}] ${spec.servers[i].name} (${facts[i].datacenter}${facts[i].region ? `, ${facts[i].region}` : ''})`).join(', '))
        .join(' | ');
      issues.push({
        path: ['servers'],
        message: `the servers are in ${groups.size} move region groups (${describe}); a failover IP moves only within one (GRA, RBX and SBG count as one), so keep every server of a cluster in one group`,
      });
    }
  }
  return issues;
}
