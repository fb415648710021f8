// What a worker's operator allows a spec to reach (docs/design.md, "The trust boundary").
// A spec names secrets, files and endpoints; whoever can apply a spec must not thereby be
// able to read an unrelated environment variable, a file of another cluster, or send a
// credential to a host of their choosing. So the worker, not the spec, decides:
//   - which environment variables a secret reference may name (by prefix),
//   - under which directories a path the spec names may lie (secrets, CA files, the state
//     directory, talosctl),
//   - which OVH API URLs besides OVH's own named regions are allowed (the sandbox's, for one),
//   - whether the node network is private (a vRack) or on loopback (simulated nodes only).
// `{cluster}` in a prefix or a root stands for the cluster's name (upper-cased with "_" for
// "-" in an environment prefix), so one cluster's spec cannot name another's secrets.
// Pure: the caller passes the home directory and the policy; the resolver and the spec
// store apply the same check.
import { cidrContains, cidrWithin, isIpv4, isLoopbackCidr, LOOPBACK_BLOCK, parseCidr, SANDBOX_NODE_BLOCK } from '../net/ipv4';
import { OVH_ENDPOINT_NAMES, type ClusterSpec } from './schema';

export interface WorkerPolicy {
  /** Prefixes an `env:NAME` reference must start with. */
  secretEnvPrefixes: string[];
  /** Absolute directories under which every path the spec names must lie. */
  pathRoots: string[];
  /** OVH API URLs allowed besides OVH's named regions; `https://host:*` allows any port and path on that host. */
  ovhEndpoints: string[];
  /**
   * Where network.cidr (and so every VM address, which lies inside it) may be: `private`, an
   * RFC 1918 range as on a real vRack (the default), or `loopback`, 127.0.0.0/8 only, for a
   * worker that drives simulated nodes listening on this machine (the sandbox's). Either
   * excludes the other: talosctl and SSH dial the spec's addresses as given, so a real worker
   * must not dial its own machine's services, and a sandbox worker must dial nothing else.
   */
  nodeNetwork?: NodeNetworkPolicy;
}

export type NodeNetworkPolicy = 'private' | 'loopback';
export const NODE_NETWORK_POLICIES: readonly NodeNetworkPolicy[] = ['private', 'loopback'];

export interface PolicyProblem {
  /** The spec field, e.g. servers[1].proxmox.tokenSecret. */
  path: string;
  message: string;
}

/** The policy of a worker configured with nothing: this cluster's own secrets and files only. */
export const DEFAULT_POLICY: WorkerPolicy = {
  // A namespace of its own, ended by "__": no setting of the worker's (AUTOK8S_PAYLOAD_KEYS,
  // AUTOK8S_CODEC_TOKEN, ...) starts with it, and cluster `a` cannot name `a-b`'s
  // AUTOK8S_SECRET_A_B__... (that would need AUTOK8S_SECRET_A__).
  secretEnvPrefixes: ['AUTOK8S_SECRET_{CLUSTER}__'],
  pathRoots: ['/etc/autok8s/clusters/{cluster}', '~/.autok8s/clusters/{cluster}'],
  ovhEndpoints: [],
};

export const envNameOfCluster = (cluster: string) => cluster.toUpperCase().replace(/-/g, '_');

/** `{cluster}`/`{CLUSTER}` and a leading `~` made concrete for one cluster and home directory. */
export function concretePolicy(policy: WorkerPolicy, cluster: string, home: string): WorkerPolicy {
  const fill = (s: string) => s.replace(/\{cluster\}/g, cluster).replace(/\{CLUSTER\}/g, envNameOfCluster(cluster));
  return {
    secretEnvPrefixes: policy.secretEnvPrefixes.map(fill),
    pathRoots: policy.pathRoots.map((r) => normalizeAbsolute(expandTilde(fill(r), home))).filter((r): r is string => r !== undefined),
    ovhEndpoints: policy.ovhEndpoints,
    nodeNetwork: policy.nodeNetwork ?? 'private',
  };
}

const expandTilde = (path: string, home: string) => (path === '~' || path.startsWith('~/') ? home + path.slice(1) : path);

/** An absolute path with `.` and `..` worked out; undefined when it is not absolute. */
export function normalizeAbsolute(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

/** Is `path` (absolute, or starting with ~) inside one of the policy's roots? Lexically: the resolver also checks the real path. */
export function pathAllowed(path: string, policy: WorkerPolicy, home: string): boolean {
  const normal = normalizeAbsolute(expandTilde(path, home));
  if (normal === undefined) return false;
  return policy.pathRoots.some((root) => normal === root || normal.startsWith(root.endsWith('/') ? root : root + '/'));
}

/** Why a secret reference is outside the (concrete) policy; undefined when it is allowed. */
export function secretRefProblem(ref: string, policy: WorkerPolicy, home: string): string | undefined {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    if (policy.secretEnvPrefixes.some((p) => name.startsWith(p) && name.length > p.length)) return undefined;
    return `environment variable ${name} is not one this worker lets specs read: its name must start with ${policy.secretEnvPrefixes.join(' or ') || '(no prefix is allowed)'} (worker setting AUTOK8S_SECRET_ENV_PREFIXES)`;
  }
  if (ref.startsWith('file:')) {
    const path = ref.slice(5);
    if (pathAllowed(path, policy, home)) return undefined;
    return `${path} is outside the directories this worker lets specs read (${policy.pathRoots.join(', ') || 'none'}; worker setting AUTOK8S_SPEC_PATH_ROOTS)`;
  }
  return 'is not a secret reference (env:NAME or file:/path)';
}

/** Every field of `spec` that the worker's policy does not allow, each with what to do. */
export function policyProblems(spec: ClusterSpec, policy: WorkerPolicy, home: string): PolicyProblem[] {
  const p = concretePolicy(policy, spec.metadata.name, home);
  const problems: PolicyProblem[] = [];
  const ref = (path: string, value: string) => {
    const problem = secretRefProblem(value, p, home);
    if (problem) problems.push({ path, message: problem });
  };
  const file = (path: string, value: string | undefined, what: string) => {
    if (value !== undefined && !pathAllowed(value, p, home)) {
      problems.push({ path, message: `${what} ${value} is outside the directories this worker allows (${p.pathRoots.join(', ') || 'none'}; worker setting AUTOK8S_SPEC_PATH_ROOTS)` });
    }
  };

  const endpoint = spec.ovh.endpoint;
  if (!(OVH_ENDPOINT_NAMES as readonly string[]).includes(endpoint) && !p.ovhEndpoints.some((allowed) => urlMatches(endpoint, allowed))) {
    problems.push({
      path: 'ovh.endpoint',
      message: `${endpoint} is not one of OVH's API regions (${OVH_ENDPOINT_NAMES.join(', ')}), and this worker allows no other URL for it (worker setting AUTOK8S_OVH_ENDPOINTS)`,
    });
  }
  const cidr = parseCidr(spec.network.cidr);
  if (p.nodeNetwork === 'loopback') {
    problems.push(...loopbackWorkerProblems(spec));
  } else if (cidr && isLoopbackCidr(cidr)) {
    problems.push({
      path: 'network.cidr',
      message: `${spec.network.cidr} is a loopback network: its addresses are this worker's own, so talosctl and SSH would reach this machine instead of your VMs. Number the vRack from a private range (RFC 1918), such as 10.10.0.0/24 (only a worker driving simulated nodes allows loopback: worker setting AUTOK8S_NODE_NETWORK=loopback)`,
    });
  }
  file('ovh.caFile', spec.ovh.caFile, 'CA file');
  ref('ovh.applicationKey', spec.ovh.applicationKey);
  ref('ovh.applicationSecret', spec.ovh.applicationSecret);
  ref('ovh.consumerKey', spec.ovh.consumerKey);
  spec.servers.forEach((s, i) => {
    ref(`servers[${i}].proxmox.tokenSecret`, s.proxmox.tokenSecret);
    file(`servers[${i}].proxmox.caFile`, s.proxmox.caFile, 'CA file');
    ref(`servers[${i}].ssh.privateKey`, s.ssh.privateKey);
  });
  file('state.dir', spec.state.dir, 'state directory');
  const talosctl = spec.talos.talosctl;
  if (talosctl !== undefined) {
    if (!talosctl.includes('/')) problems.push({ path: 'talos.talosctl', message: 'must be an absolute path inside the directories this worker allows, or left out (the worker then uses $TALOSCTL, PATH or the pinned build)' });
    else file('talos.talosctl', talosctl, 'talosctl binary');
  }
  return problems;
}

/**
 * Does `url` match the allowed `pattern`: same scheme, host and path, and the same port or a
 * pattern port of `*`? Compared parsed, never as text: `https://127.0.0.1:1@evil.example/`
 * starts with `https://127.0.0.1:` yet goes to evil.example.
 */
export function urlMatches(url: string, pattern: string): boolean {
  const wildcardPort = /^(https?:\/\/[^/:@]+):\*(\/.*)?$/.exec(pattern);
  const parse = (u: string) => {
    try {
      return new URL(u);
    } catch {
      return undefined;
    }
  };
  const got = parse(url);
  const want = parse(wildcardPort ? `${wildcardPort[1]}${wildcardPort[2] ?? '/'}` : pattern);
  if (!got || !want || got.username !== '' || got.password !== '') return false;
  // `https://host:*` allows any path on that host; otherwise the path must be the same.
  const anyPath = wildcardPort !== null && wildcardPort[2] === undefined;
  const samePath = anyPath || got.pathname.replace(/\/$/, '') === want.pathname.replace(/\/$/, '');
  return got.protocol === want.protocol && got.hostname === want.hostname && (wildcardPort !== null || got.port === want.port) && samePath;
}

/**
 * A secret reference checked against the policy for whichever cluster: `{cluster}` matches any
 * cluster name. The secret resolver's last line of defence, which sees a reference without
 * knowing its cluster; the spec store checks each spec against its own cluster's policy.
 */
export function secretRefAllowedForSomeCluster(ref: string, policy: WorkerPolicy, home: string): boolean {
  const anyName = '\u0000';
  const p = concretePolicy(policy, anyName, home);
  const pattern = (template: string, part: string) =>
    new RegExp('^' + template.split(anyName).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(part));
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    return p.secretEnvPrefixes.some((prefix) => pattern(prefix.split(envNameOfCluster(anyName)).join(anyName), '[A-Z0-9_]+').test(name) && name.length > prefix.length - 1);
  }
  if (ref.startsWith('file:')) {
    const path = normalizeAbsolute(expandTilde(ref.slice(5), home));
    return path !== undefined && p.pathRoots.some((root) => pattern(root.endsWith('/') ? root : root + '/', '[a-z0-9-]+').test(path));
  }
  return false;
}

/** The policy a worker reads from its own configuration (environment), over the defaults. */
export function policyFromEnv(env: Record<string, string | undefined>): WorkerPolicy {
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return {
    secretEnvPrefixes: env.AUTOK8S_SECRET_ENV_PREFIXES !== undefined ? list(env.AUTOK8S_SECRET_ENV_PREFIXES) : DEFAULT_POLICY.secretEnvPrefixes,
    pathRoots: env.AUTOK8S_SPEC_PATH_ROOTS !== undefined ? list(env.AUTOK8S_SPEC_PATH_ROOTS) : DEFAULT_POLICY.pathRoots,
    ovhEndpoints: list(env.AUTOK8S_OVH_ENDPOINTS),
    nodeNetwork: nodeNetworkFromEnv(env.AUTOK8S_NODE_NETWORK),
  };
}

/** AUTOK8S_NODE_NETWORK: unset or "private", or "loopback"; anything else stops the worker with the setting named. */
function nodeNetworkFromEnv(value: string | undefined): NodeNetworkPolicy {
  if (value === undefined || value.trim() === '') return 'private';
  const v = value.trim() as NodeNetworkPolicy;
  if (!NODE_NETWORK_POLICIES.includes(v)) throw new Error(`AUTOK8S_NODE_NETWORK=${JSON.stringify(value)}: must be ${NODE_NETWORK_POLICIES.join(' or ')}`);
  return v;
}

const LOOPBACK_WORKER = 'this worker drives only simulated nodes on this machine (worker setting AUTOK8S_NODE_NETWORK=loopback)';

/** The host of `host:port`, `[v6]:port` or an http(s) URL (a `{ip}` template too); undefined when it cannot be read. */
function hostOf(value: string): string | undefined {
  if (/^https?:\/\//.test(value)) {
    try {
      return new URL(value.replace(/\{ip\}/g, 'ip-placeholder.invalid')).hostname;
    } catch {
      return undefined;
    }
  }
  const m = /^(.*):\d+$/.exec(value);
  return (m ? m[1] : value).replace(/^\[(.*)\]$/, '$1');
}

/** A loopback IPv4 address, ::1, or localhost (the name the sandbox's certificates carry). */
const isLoopbackHost = (host: string | undefined) => host !== undefined && ((isIpv4(host) && cidrContains(LOOPBACK_BLOCK, host)) || host === 'localhost' || host === '::1' || host === '[::1]');

/**
 * What a `loopback` worker refuses: a node network outside the sandboxes' block (127.64.0.0/10:
 * not 127.0.0.1, where this machine's own sshd and services listen), and any other address the
 * worker would dial (SSH, the Proxmox API, LB health and public probes) that is not a loopback
 * IPv4 address. The OVH endpoint is held by ovhEndpoints already.
 */
function loopbackWorkerProblems(spec: ClusterSpec): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const cidr = parseCidr(spec.network.cidr);
  if (!cidr || !cidrWithin(cidr, SANDBOX_NODE_BLOCK)) {
    problems.push({ path: 'network.cidr', message: `${spec.network.cidr} is not inside 127.64.0.0/10, where sandboxes number their nodes, and ${LOOPBACK_WORKER}: its talosctl and SSH would dial addresses that are not simulated nodes. Run this spec on a worker for real servers` });
  }
  const dialed = (path: string, value: string | undefined) => {
    if (value !== undefined && !isLoopbackHost(hostOf(value))) problems.push({ path, message: `${value} is not on loopback (127.0.0.0/8, ::1 or localhost), and ${LOOPBACK_WORKER}` });
  };
  spec.servers.forEach((s, i) => {
    dialed(`servers[${i}].ssh.address`, s.ssh.address);
    dialed(`servers[${i}].proxmox.url`, s.proxmox.url);
    dialed(`servers[${i}].lbHealthUrl`, s.lbHealthUrl);
  });
  dialed('publicPath.probeUrl', spec.publicPath?.probeUrl);
  return problems;
}
