// keepalived.conf for one LB VM: the API VIP as a unicast VRRP instance over the vRack,
// and `notify_master` calling `autok8s failover` so the LB that takes the VIP also pulls
// the public failover IPs to its server. Given the LB's public network (core/public-path/
// lb-network.ts), the same instance holds the failover IPs, their routes and rules while
// MASTER, and the notify scripts bring the LB VM's public NIC up and down. Pure: spec in,
// file text out.
import { PUBLIC_RULE_PREFERENCE, type LbPublicNetwork, type LbPublicRoute } from '../public-path/lb-network';
import { PUBLIC_PATH_MODES } from '../public-path/modes';
import { GRAMMAR, requireGrammar, requireInt, UnsafeValueError } from '../spec/grammar';
import { LIMITS } from '../spec/limits';
import type { ClusterSpec } from '../spec/schema';
import { LB_PORTS, lbAddress, lbServer, prefixLength, renderHeader, safeToken, vrrpPriority } from './lb-topology';
import { sha256Hex } from './sha256';

export interface KeepalivedRenderOptions {
  /** The autok8s CLI on the LB VM (default /usr/local/bin/autok8s). */
  notifyCommand?: string;
  /**
   * This LB's public network (lbPublicNetwork of core/public-path/lb-network.ts, from the
   * server's OVH facts). Without it the file holds the vRack VIP only.
   */
  publicNetwork?: LbPublicNetwork;
}

export const KEEPALIVED_DEFAULTS = {
  notifyCommand: '/usr/local/bin/autok8s',
  instanceName: 'autok8s_api',
  advertIntSeconds: 1,
  /**
   * Gratuitous ARPs on takeover: a first burst at once, a second one after this many seconds
   * (keepalived's default is 5; the address's new MAC should be learnt sooner than that).
   */
  garpMasterDelaySeconds: 1,
  /** ARPs per burst (keepalived's default: 5). */
  garpMasterRepeat: 3,
  /** While MASTER, re-announce every this many seconds (keepalived's default: never), so caches that lost the entry learn it again. */
  garpMasterRefreshSeconds: 60,
  /** The tracked HAProxy check's name (a vrrp_script). */
  haproxyCheckName: 'autok8s_haproxy',
  /** Checks in a row that put the instance in FAULT, and that bring it back. */
  haproxyCheckFall: 2,
  haproxyCheckRise: 2,
} as const;

/**
 * The HAProxy check the VRRP instance tracks: HAProxy's health frontend (monitor-uri, bound on
 * every address) accepts a connection on the LB VM's own loopback. Two failures in a row put
 * the instance in FAULT, which releases the VIP (and the failover IPs) and runs notify_fault,
 * so a BACKUP whose HAProxy runs takes over; without it keepalived would hold the addresses for
 * a dead HAProxy and a failover to the next LB would find it BACKUP. A TCP connect through
 * bash's /dev/tcp needs nothing beyond the stock Debian VM (no curl) and no quoting inside the
 * script line; keepalived runs the words without a shell, grouping the single-quoted one.
 */
export function haproxyCheckScript(): string {
  return `/bin/bash -c '</dev/tcp/127.0.0.1/${LB_PORTS.haproxyHealth}'`;
}

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
  const linkUp = opts.publicNetwork?.togglesLink ? lbLinkCommand(spec, serverName, 'up', opts) : undefined;
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
  // The link request runs beside the moves, not before them: each call only starts a workflow,
  // the link is set within a second or two while OVH's move takes about a minute, so the public
  // NIC receives before OVH routes the IP here, and the move request does not wait behind a
  // second CLI start-up (~1 s of node on the LB VM; bench/failover-detection.ts). If the link
  // ever lags, failoverIp's serve check waits for it (docs/design.md §10.5).
  if (linkUp !== undefined) return `/bin/sh -c '${linkUp} & ${calls.join('; ')}; wait'`;
  return calls.length === 1 ? calls[0] : `/bin/sh -c '${calls.join('; ')}'`;
}

/**
 * The command that asks the worker to set this LB VM's public NIC link (Proxmox net1
 * link_down=0|1): `autok8s lb link up|down --cluster C --server S`. Intent only, like failover.
 */
export function lbLinkCommand(spec: ClusterSpec, serverName: string, state: 'up' | 'down', opts: KeepalivedRenderOptions = {}): string {
  const command = safeToken(opts.notifyCommand ?? KEEPALIVED_DEFAULTS.notifyCommand, 'notifyCommand');
  const cluster = requireGrammar(GRAMMAR.dnsLabel, spec.metadata.name, 'metadata.name');
  const { index } = lbServer(spec, serverName);
  const server = requireGrammar(GRAMMAR.dnsLabel, serverName, `servers[${index}].name`);
  return `${command} lb link ${state} --cluster ${cluster} --server ${server}`;
}

/** One virtual_routes line, every word checked: the values come from OVH's API as well as the spec. */
function routeLine(route: LbPublicRoute, noTrack: boolean): string {
  const to = /^(.+)\/(\d{1,2})$/.exec(route.to);
  if (!to || !GRAMMAR.ipv4.test(to[1]) || Number(to[2]) > 32) throw new UnsafeValueError('publicNetwork.routes[].to', route.to, 'an IPv4 CIDR');
  const words = [route.to];
  if (route.via !== undefined) words.push('via', requireGrammar(GRAMMAR.ipv4, route.via, 'publicNetwork.routes[].via'));
  words.push('dev', requireGrammar(GRAMMAR.interfaceName, route.dev, 'publicNetwork.routes[].dev'));
  if (route.onlink) words.push('onlink');
  if (route.src !== undefined) words.push('src', requireGrammar(GRAMMAR.ipv4, route.src, 'publicNetwork.routes[].src'));
  words.push('table', String(requireInt(route.table, 1, 252, 'publicNetwork.routes[].table')));
  if (noTrack) words.push('no_track');
  return words.join(' ');
}

/** The instance lines that hold the public path while MASTER, and the notify lines that go with it. */
function publicLines(spec: ClusterSpec, serverName: string, opts: KeepalivedRenderOptions): { addresses: string[]; blocks: string[] } {
  const pub = opts.publicNetwork;
  if (!pub) return { addresses: [], blocks: [] };
  const dev = requireGrammar(GRAMMAR.interfaceName, pub.interface, 'publicPath.interface');
  // A BACKUP's public NIC has no carrier (Proxmox link_down=1). keepalived tracks the interface
  // of every address and route it holds, and an instance with a tracked interface down sits in
  // FAULT: it could never take over. The link is autok8s's to set, not a health signal: no_track.
  const track = pub.togglesLink ? ' no_track' : '';
  const addresses = pub.addresses.map((a) => {
    const [ip, prefix, extra] = a.split('/');
    if (extra !== undefined || !GRAMMAR.ipv4.test(ip) || !/^\d{1,2}$/.test(prefix ?? '') || Number(prefix) > 32) {
      throw new UnsafeValueError('publicNetwork.addresses[]', a, 'an IPv4 address/prefix');
    }
    return `    ${a} dev ${dev}${track}`;
  });
  const table = requireInt(pub.routes[0]?.table, 1, 252, 'publicNetwork.routes[0].table');
  if (pub.routes.some((r) => r.table !== table)) throw new UnsafeValueError('publicNetwork.routes[].table', pub.routes.map((r) => r.table).join(','), 'one table for every route');
  const mode = PUBLIC_PATH_MODES.find((m) => m === pub.mode);
  if (!mode) throw new UnsafeValueError('publicPath.mode', pub.mode, `one of ${PUBLIC_PATH_MODES.join(', ')}`);
  addresses.unshift(`    # The public path (publicPath.mode ${mode}): held by the MASTER only.`);
  const blocks = [
    `  # While MASTER: the public default route, in table ${table}, which only traffic from the failover IPs uses.`,
    '  virtual_routes {',
    ...pub.routes.map((r) => `    ${routeLine(r, pub.togglesLink && r.dev === dev)}`),
    '  }',
    '  virtual_rules {',
    ...pub.ruleSources.map((ip, i) => `    from ${requireGrammar(GRAMMAR.ipv4, ip, `failoverIps[${i}]`)}/32 table ${table} preference ${PUBLIC_RULE_PREFERENCE}`),
    '  }',
  ];
  if (pub.togglesLink) {
    const down = lbLinkCommand(spec, serverName, 'down', opts);
    blocks.push(
      '  # A BACKUP, a fault or a stop takes the public NIC off the wire (Proxmox link_down=1): the',
      "  # failover IP's MAC answers from the MASTER's NIC alone.",
      `  notify_backup "${down}"`,
      `  notify_fault "${down}"`,
      `  notify_stop "${down}"`,
    );
  }
  return { addresses, blocks };
}

export function renderKeepalivedConf(spec: ClusterSpec, serverName: string, opts: KeepalivedRenderOptions = {}): string {
  const { index } = lbServer(spec, serverName);
  const iface = requireGrammar(GRAMMAR.interfaceName, spec.network.interface, 'network.interface');
  const routerId = requireInt(spec.network.vrrpRouterId, LIMITS.vrrpRouterId.min, LIMITS.vrrpRouterId.max, 'network.vrrpRouterId');
  const apiVip = requireGrammar(GRAMMAR.ipv4, spec.network.apiVip, 'network.apiVip');
  const sourceIp = lbAddress(spec, index);
  const peers = spec.servers.flatMap((_, i) => (i === index ? [] : [lbAddress(spec, i)]));
  const pub = publicLines(spec, serverName, opts);
  const movesIp = opts.publicNetwork?.movesIp ?? true;
  const lines = [
    renderHeader('keepalived.conf', spec, serverName, opts.publicNetwork?.routes.find((r) => r.to === '0.0.0.0/0')?.via),
    'global_defs {',
    `  router_id autok8s_${spec.metadata.name}_${serverName}`,
    '  # notify scripts run as root, and only from paths root alone can write.',
    '  enable_script_security',
    '  script_user root',
    '  # Gratuitous ARPs on takeover: now, again a moment later, and every minute while MASTER.',
    `  vrrp_garp_master_delay ${KEEPALIVED_DEFAULTS.garpMasterDelaySeconds}`,
    `  vrrp_garp_master_repeat ${KEEPALIVED_DEFAULTS.garpMasterRepeat}`,
    `  vrrp_garp_master_refresh ${KEEPALIVED_DEFAULTS.garpMasterRefreshSeconds}`,
    '}',
    '',
    `vrrp_script ${KEEPALIVED_DEFAULTS.haproxyCheckName} {`,
    "  # HAProxy's health frontend answers on this VM: two misses in a row put the instance in FAULT.",
    `  script "${haproxyCheckScript()}"`,
    `  interval ${KEEPALIVED_DEFAULTS.advertIntSeconds}`,
    `  timeout ${KEEPALIVED_DEFAULTS.advertIntSeconds}`,
    `  fall ${KEEPALIVED_DEFAULTS.haproxyCheckFall}`,
    `  rise ${KEEPALIVED_DEFAULTS.haproxyCheckRise}`,
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
    '  track_script {',
    `    ${KEEPALIVED_DEFAULTS.haproxyCheckName}`,
    '  }',
    '  virtual_ipaddress {',
    `    ${apiVip}/${prefixLength(spec)} dev ${iface}`,
    ...pub.addresses,
    '  }',
    ...pub.blocks,
    ...(movesIp
      ? [
          '  # Taking the VIP means this LB is now the active one: route the public failover IPs here too.',
          '  # autok8s joins a move already running for the same IP, so several triggers make one move.',
          `  notify_master "${notifyMasterCommand(spec, serverName, opts)}"`,
        ]
      : ['  # The IP block is routed into the vRack: the gratuitous ARPs move its addresses, OVH has nothing to move.']),
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
