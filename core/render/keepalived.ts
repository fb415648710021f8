// keepalived.conf for one LB VM: the API VIP as a unicast VRRP instance over the vRack,
// and `notify_master` calling `autok8s failover` so the LB that takes the VIP also pulls
// the public failover IPs to its server. Pure: spec in, file text out.
import type { ClusterSpec } from '../spec/schema';
import { lbServer, prefixLength, renderHeader, safeToken, vrrpPriority } from './lb-topology';
import { sha256Hex } from './sha256';

export interface KeepalivedRenderOptions {
  /** The autok8s CLI on the LB VM (default /usr/local/bin/autok8s). */
  notifyCommand?: string;
}

export const KEEPALIVED_DEFAULTS = {
  notifyCommand: '/usr/local/bin/autok8s',
  instanceName: 'autok8s_api',
  advertIntSeconds: 1,
} as const;

/**
 * VRRP PASS auth is at most 8 characters and travels in cleartext in every advert: it is
 * not a secret, only a guard against two clusters on one segment joining each other's
 * instance. Deriving it from the cluster name keeps every LB of a cluster in agreement
 * without another field in the spec.
 */
export function vrrpAuthPass(clusterName: string): string {
  return sha256Hex(`autok8s-vrrp:${clusterName}`).slice(0, 8);
}

/**
 * The command keepalived runs when this LB becomes MASTER: one `autok8s failover` per failover
 * IP, naming the cluster only (intent): the LB VM holds no spec and no provider secret, and
 * the worker runs the move with the spec its cluster accepted.
 */
export function notifyMasterCommand(spec: ClusterSpec, serverName: string, opts: KeepalivedRenderOptions = {}): string {
  const command = safeToken(opts.notifyCommand ?? KEEPALIVED_DEFAULTS.notifyCommand, 'notifyCommand');
  const cluster = safeToken(spec.metadata.name, 'metadata.name');
  const calls = spec.failoverIps.map((ip) => `${command} failover --cluster ${cluster} --ip ${ip} --to ${serverName} --reason keepalived`);
  // keepalived runs a script line without a shell, so several calls need one. Inside the
  // double-quoted script keepalived honours single quotes as one argument.
  return calls.length === 1 ? calls[0] : `/bin/sh -c '${calls.join('; ')}'`;
}

export function renderKeepalivedConf(spec: ClusterSpec, serverName: string, opts: KeepalivedRenderOptions = {}): string {
  const { server, index } = lbServer(spec, serverName);
  const iface = safeToken(spec.network.interface, 'network.interface');
  const peers = spec.servers.filter((s) => s.name !== serverName).map((s) => s.vms.lb.ip);
  const lines = [
    renderHeader('keepalived.conf', spec, serverName),
    'global_defs {',
    `  router_id autok8s_${spec.metadata.name}_${serverName}`,
    '  # notify scripts run as root, and only from paths root alone can write.',
    '  enable_script_security',
    '  script_user root',
    '}',
    '',
    `vrrp_instance ${KEEPALIVED_DEFAULTS.instanceName} {`,
    '  # Every LB starts as BACKUP with nopreempt: the highest priority wins the first election,',
    '  # but an LB that comes back does not take the VIP from a healthy MASTER. Preempting would',
    '  # flap the API endpoint and trigger a second failover IP move for nothing.',
    '  state BACKUP',
    '  nopreempt',
    `  interface ${iface}`,
    `  virtual_router_id ${spec.network.vrrpRouterId}`,
    `  priority ${vrrpPriority(index, spec.servers.length)}`,
    `  advert_int ${KEEPALIVED_DEFAULTS.advertIntSeconds}`,
    // A single LB has no peer to talk to; keepalived refuses unicast settings without peers.
    ...(peers.length > 0
      ? [
          '  # Unicast over the vRack: OVH does not forward multicast between servers.',
          `  unicast_src_ip ${server.vms.lb.ip}`,
          '  unicast_peer {',
          ...peers.map((ip) => `    ${ip}`),
          '  }',
        ]
      : []),
    '  authentication {',
    '    # Not a secret: VRRP PASS auth is cleartext in every advert. It only keeps two clusters on',
    '    # one segment apart; derived from the cluster name so all LBs agree.',
    '    auth_type PASS',
    `    auth_pass ${vrrpAuthPass(spec.metadata.name)}`,
    '  }',
    '  virtual_ipaddress {',
    `    ${spec.network.apiVip}/${prefixLength(spec)} dev ${iface}`,
    '  }',
    '  # Taking the VIP means this LB is now the active one: route the public failover IPs here too.',
    '  # autok8s joins a move already running for the same IP, so several triggers make one move.',
    `  notify_master "${notifyMasterCommand(spec, serverName, opts)}"`,
    '}',
    '',
  ];
  return lines.join('\n');
}
