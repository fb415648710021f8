// keepalived.conf for one LB VM: the API VIP as a unicast VRRP instance over the vRack,
// and `notify_master` calling `autok8s failover` so the LB that takes the VIP also pulls
// the public failover IPs to its server. Pure: spec in, file text out.
import { GRAMMAR, requireGrammar, requireInt, UnsafeValueError } from '../spec/grammar';
import { LIMITS } from '../spec/limits';
import type { ClusterSpec } from '../spec/schema';
import { lbAddress, lbServer, prefixLength, renderHeader, safeToken, vrrpPriority } from './lb-topology';
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
  const cluster = requireGrammar(GRAMMAR.dnsLabel, spec.metadata.name, 'metadata.name');
  // Every word below lands inside "…" and, with several IPs, inside sh -c '…': one quote in a
  // name or address would end the script and start whatever follows, run as root.
  const { index } = lbServer(spec, serverName);
  const to = requireGrammar(GRAMMAR.dnsLabel, serverName, `servers[${index}].name`);
  if (!Array.isArray(spec.failoverIps) || spec.failoverIps.length < 1 || spec.failoverIps.length > LIMITS.failoverIps) {
    throw new UnsafeValueError('failoverIps', spec.failoverIps, `a list of 1 to ${LIMITS.failoverIps} IPv4 addresses`);
  }
  const ips = spec.failoverIps.map((ip, i) => requireGrammar(GRAMMAR.ipv4, ip, `failoverIps[${i}]`));
  const calls = ips.map((ip) => `${command} failover --cluster ${cluster} --ip ${ip} --to ${to} --reason keepalived`);
  // keepalived runs a script line without a shell, so several calls need one. Inside the
  // double-quoted script keepalived honours single quotes as one argument.
  return calls.length === 1 ? calls[0] : `/bin/sh -c '${calls.join('; ')}'`;
}

export function renderKeepalivedConf(spec: ClusterSpec, serverName: string, opts: KeepalivedRenderOptions = {}): string {
  const { index } = lbServer(spec, serverName);
  const iface = requireGrammar(GRAMMAR.interfaceName, spec.network.interface, 'network.interface');
  const routerId = requireInt(spec.network.vrrpRouterId, LIMITS.vrrpRouterId.min, LIMITS.vrrpRouterId.max, 'network.vrrpRouterId');
  const apiVip = requireGrammar(GRAMMAR.ipv4, spec.network.apiVip, 'network.apiVip');
  const sourceIp = lbAddress(spec, index);
  const peers = spec.servers.flatMap((_, i) => (i === index ? [] : [lbAddress(spec, i)]));
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
    `  virtual_router_id ${routerId}`,
    `  priority ${vrrpPriority(index, spec.servers.length)}`,
    `  advert_int ${KEEPALIVED_DEFAULTS.advertIntSeconds}`,
    // A single LB has no peer to talk to; keepalived refuses unicast settings without peers.
    ...(peers.length > 0
      ? [
          '  # Unicast over the vRack: OVH does not forward multicast between servers.',
          `  unicast_src_ip ${sourceIp}`,
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
    `    ${apiVip}/${prefixLength(spec)} dev ${iface}`,
    '  }',
    '  # Taking the VIP means this LB is now the active one: route the public failover IPs here too.',
    '  # autok8s joins a move already running for the same IP, so several triggers make one move.',
    `  notify_master "${notifyMasterCommand(spec, serverName, opts)}"`,
    '}',
    '',
  ];
  // keepalived splits longer lines without a word, turning the rest of the line into configuration.
  const long = lines.find((line) => line.length > LIMITS.keepalivedLineChars);
  if (long !== undefined) {
    throw new UnsafeValueError(
      long.includes('notify_master') ? 'failoverIps' : 'keepalived.conf',
      `${long.slice(0, 40)}… (${long.length} characters)`,
      `rendered into lines of at most ${LIMITS.keepalivedLineChars} characters, keepalived's limit; list fewer failover IPs or use a shorter notifyCommand path`,
    );
  }
  return lines.join('\n');
}
