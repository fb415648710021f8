// The files autok8s keeps on an LB VM, and how each is checked, activated and probed.
// Pure data: a workflow builds this list and hands each file to the SSH push activity,
// which never needs to know what kind of file it carries.
import { healthUrlOutsideVrack, lbHealthUrl } from '../lb-endpoints';
import { lbPublicNetwork } from '../public-path/lb-network';
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../spec/grammar';
import type { ClusterSpec } from '../spec/schema';
import { renderHaproxyCfg, type HaproxyRenderOptions } from './haproxy';
import { HAPROXY_CONFIG_PATH, haproxyIdentity, haproxyIdentityAnswer } from './haproxy-identity';
import { renderKeepalivedConf, type KeepalivedRenderOptions } from './keepalived';
import { lbServer } from './lb-topology';
import { renderNginxConf, type NginxRenderOptions } from './nginx';

/** Placeholder in `validate` for the temporary path the new content is uploaded to. */
export const FILE_PLACEHOLDER = '{file}';

/** How a push checks the service after a reload. Retried until it passes or attempts run out. */
export type PushProbe = (
  | {
      kind: 'http';
      url: string;
      /** default: any 2xx */
      expectStatus?: number;
      /** The body must read exactly this (surrounding white space aside). */
      expectBody?: string;
      /** Said when the body differs: what a different answer means. */
      bodyMismatchHint?: string;
    }
  | { kind: 'tcp'; host: string; port: number }
  /** Runs on the target; passes on exit status 0. */
  | { kind: 'command'; argv: string[] }
) & { attempts?: number; intervalMs?: number; timeoutMs?: number };

export interface RemoteConfigFile {
  /** Absolute path on the target. */
  path: string;
  content: string;
  /** Octal mode of the installed file (default 0644). */
  mode?: string;
  /** Validation argv run on the target, with {file} for the uploaded temporary file, e.g. ['haproxy', '-c', '-f', '{file}']. */
  validate: string[];
  /** Reload argv run on the target after the swap (and again after a rollback), e.g. ['systemctl', 'reload-or-restart', 'haproxy']. */
  reload: string[];
  /**
   * Run when a rollback removes a file that did not exist before the push: returns the
   * service to its state without the file (keepalived: stopped, as systemd left it).
   */
  deactivate?: string[];
  probe?: PushProbe;
}

export type LbProgram = 'haproxy' | 'nginx' | 'keepalived';

export interface LbFilesOptions {
  haproxy?: HaproxyRenderOptions;
  nginx?: NginxRenderOptions;
  /** keepalived's options but its public network, which lbConfigFiles derives. */
  keepalived?: Omit<KeepalivedRenderOptions, 'publicNetwork'>;
}

/**
 * What OVH says about each server that the LB files need, in spec order: its IPv4 gateway
 * (`GET /dedicated/server/{sn}/specifications/network` routing.ipv4.gateway, null when none).
 * vmac mode needs it for every server; routed and vrack-block do not read it.
 */
export interface LbServerFacts {
  gateways: readonly (string | null)[];
}

/** Where Debian's packages read their configuration. */
export const LB_CONFIG_PATHS: Record<LbProgram, string> = {
  haproxy: '/etc/haproxy/haproxy.cfg',
  nginx: '/etc/nginx/nginx.conf',
  keepalived: '/etc/keepalived/keepalived.conf',
};

/**
 * The three files of one LB VM, keepalived.conf with the LB's public network (the failover IPs,
 * their routes and rules, held while MASTER: core/public-path/lb-network.ts), in push order: Nginx first, HAProxy, keepalived (the VIP) last.
 * Nginx goes first because a stock Debian nginx serves its default site on :80, where
 * HAProxy's ingress frontend binds; the rendered nginx.conf (a complete file, no includes)
 * drops that site, and a HAProxy reload whose new listener cannot bind keeps its old
 * workers and still exits 0 (docs/contracts.md §D.4).
 *
 * `reload-or-restart`: a unit that is not running is started with the new file. keepalived
 * is not running on a fresh VM (ConditionFileNotEmpty on a config Debian does not ship), and
 * `reload` of an inactive unit fails.
 */
export function lbConfigFiles(spec: ClusterSpec, serverName: string, facts: LbServerFacts, opts: LbFilesOptions = {}): (RemoteConfigFile & { program: LbProgram })[] {
  const { server, index } = lbServer(spec, serverName);
  const gateway = facts.gateways[index];
  const publicNetwork = lbPublicNetwork(spec, index, gateway === undefined ? undefined : { gateway });
  // The push probes this URL from the worker: only plain http(s) to an address, nothing a URL could smuggle.
  const field = server.lbHealthUrl === undefined ? `servers[${index}].vms.lb.ip` : `servers[${index}].lbHealthUrl`;
  const healthUrl = requireGrammar(GRAMMAR.healthUrl, lbHealthUrl(server), field);
  const outside = healthUrlOutsideVrack(healthUrl, spec.network.cidr);
  if (outside) throw new UnsafeValueError(field, healthUrl, `an address inside network.cidr or on loopback (${outside})`);
  const isActive = (unit: string): PushProbe => ({ kind: 'command', argv: ['systemctl', 'is-active', '--quiet', unit] });
  const reload = (unit: LbProgram) => ['systemctl', 'reload-or-restart', unit];
  return [
    {
      program: 'nginx',
      path: LB_CONFIG_PATHS.nginx,
      content: renderNginxConf(spec, serverName, opts.nginx),
      validate: ['nginx', '-t', '-c', FILE_PLACEHOLDER],
      reload: reload('nginx'),
      probe: isActive('nginx'),
    },
    haproxyFile(renderHaproxyCfg(spec, serverName, opts.haproxy), healthUrl),
    {
      program: 'keepalived',
      path: LB_CONFIG_PATHS.keepalived,
      content: renderKeepalivedConf(spec, serverName, { ...opts.keepalived, publicNetwork }),
      validate: ['keepalived', '-t', '-f', FILE_PLACEHOLDER],
      reload: reload('keepalived'),
      deactivate: ['systemctl', 'stop', 'keepalived'],
      probe: isActive('keepalived'),
    },
  ];
}

/**
 * haproxy.cfg with a probe that asks the health frontend which file HAProxy runs: a reload
 * that cannot bind a new listener exits 0 and keeps the old file live (haproxy-identity.ts).
 */
export function haproxyFile(content: string, healthUrl: string): RemoteConfigFile & { program: 'haproxy' } {
  const identity = haproxyIdentity(content);
  if (identity === undefined) throw new Error('haproxy.cfg carries no autok8s identity line; render it with renderHaproxyCfg');
  const configUrl = new URL(HAPROXY_CONFIG_PATH, healthUrl).toString();
  return {
    program: 'haproxy',
    path: LB_CONFIG_PATHS.haproxy,
    content,
    validate: ['haproxy', '-c', '-f', FILE_PLACEHOLDER],
    reload: ['systemctl', 'reload-or-restart', 'haproxy'],
    probe: {
      kind: 'http',
      url: configUrl,
      expectBody: haproxyIdentityAnswer(identity),
      bodyMismatchHint: 'HAProxy still runs another file: the reload kept the old workers (a listener of the new file may not bind; see journalctl -u haproxy on the LB)',
    },
  };
}
