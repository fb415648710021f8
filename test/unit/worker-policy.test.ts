// The worker's policy for specs (core/spec/worker-policy.ts), table-style: what a spec may
// name as a secret, a path or an OVH endpoint, per cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { concretePolicy, DEFAULT_POLICY, pathAllowed, policyFromEnv, policyProblems, secretRefAllowedForSomeCluster, secretRefProblem, urlMatches, type WorkerPolicy } from '../../core/spec/worker-policy';

const HOME = '/home/op';
const fixture = parseSpec(readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8'));

/** The fixture with every secret and path inside `root`, and OVH's named region. */
function specWithin(root: string, edit: (s: ClusterSpec) => void = () => undefined): ClusterSpec {
  const s: ClusterSpec = structuredClone(fixture);
  s.ovh = { ...s.ovh, endpoint: 'ovh-eu', applicationKey: `file:${root}/ovh-ak`, applicationSecret: `file:${root}/ovh-as`, consumerKey: `file:${root}/ovh-ck`, caFile: undefined };
  s.servers = s.servers.map((server) => ({ ...server, proxmox: { ...server.proxmox, tokenSecret: `file:${root}/pve`, caFile: undefined }, ssh: { ...server.ssh, privateKey: `file:${root}/ssh` } }));
  s.state = { dir: undefined };
  s.talos = { ...s.talos, talosctl: undefined };
  edit(s);
  return s;
}

describe('policyProblems', () => {
  const root = '/etc/autok8s/clusters/prod-gra';
  it.each([
    { name: 'a spec inside its cluster’s directory is allowed', spec: specWithin(root), fields: [] },
    { name: 'a secret of another cluster is refused', spec: specWithin('/etc/autok8s/clusters/other'), fields: ['ovh.applicationKey', 'ovh.applicationSecret', 'ovh.consumerKey', ...fixture.servers.flatMap((_, i) => [`servers[${i}].proxmox.tokenSecret`, `servers[${i}].ssh.privateKey`])] },
    { name: 'a file outside every root is refused', spec: specWithin(root, (s) => (s.ovh.consumerKey = 'file:/etc/shadow')), fields: ['ovh.consumerKey'] },
    { name: '.. cannot climb out of the cluster’s directory', spec: specWithin(root, (s) => (s.servers[1].ssh.privateKey = `file:${root}/../other/ssh`)), fields: ['servers[1].ssh.privateKey'] },
    { name: 'an environment variable without the cluster’s prefix is refused', spec: specWithin(root, (s) => (s.ovh.applicationKey = 'env:AWS_SECRET_ACCESS_KEY')), fields: ['ovh.applicationKey'] },
    { name: 'the cluster’s own prefix is allowed', spec: specWithin(root, (s) => (s.ovh.applicationKey = 'env:AUTOK8S_SECRET_PROD_GRA__OVH_AK')), fields: [] },
    { name: 'a setting of the worker’s own is refused (the payload keys)', spec: specWithin(root, (s) => (s.ovh.applicationKey = 'env:AUTOK8S_PAYLOAD_KEYS')), fields: ['ovh.applicationKey'] },
    { name: 'another cluster’s prefix is refused', spec: specWithin(root, (s) => (s.ovh.applicationKey = 'env:AUTOK8S_SECRET_OTHER__OVH_AK')), fields: ['ovh.applicationKey'] },
    { name: 'a longer cluster name’s secrets are not this cluster’s', spec: specWithin(root, (s) => (s.ovh.applicationKey = 'env:AUTOK8S_SECRET_PROD_GRA_B__OVH_AK')), fields: ['ovh.applicationKey'] },
    { name: 'an OVH endpoint that is not a region is refused', spec: specWithin(root, (s) => (s.ovh.endpoint = 'https://127.0.0.1:9/1.0')), fields: ['ovh.endpoint'] },
    { name: 'a CA file outside the roots is refused', spec: specWithin(root, (s) => (s.servers[0].proxmox.caFile = '/tmp/evil-ca.pem')), fields: ['servers[0].proxmox.caFile'] },
    { name: 'a state directory outside the roots is refused', spec: specWithin(root, (s) => (s.state.dir = '/')), fields: ['state.dir'] },
    { name: 'a talosctl outside the roots is refused', spec: specWithin(root, (s) => (s.talos.talosctl = '/tmp/talosctl')), fields: ['talos.talosctl'] },
    { name: 'a talosctl found on PATH by name is refused', spec: specWithin(root, (s) => (s.talos.talosctl = 'talosctl')), fields: ['talos.talosctl'] },
    { name: '~ is the worker’s home, inside the default root', spec: specWithin('~/.autok8s/clusters/prod-gra'), fields: [] },
  ])('$name', ({ spec, fields }) => {
    const problems = policyProblems(spec, DEFAULT_POLICY, HOME);
    expect(problems.map((p) => p.path)).toEqual(fields);
    for (const p of problems) expect(p.message).toMatch(/AUTOK8S_(SECRET_ENV_PREFIXES|SPEC_PATH_ROOTS|OVH_ENDPOINTS)|absolute path/);
  });
});

describe('urlMatches', () => {
  it.each([
    { url: 'https://127.0.0.1:8443/1.0', pattern: 'https://127.0.0.1:*', match: true },
    { url: 'https://127.0.0.1:8443/anything', pattern: 'https://127.0.0.1:*', match: true },
    { url: 'https://127.0.0.1:1@evil.example/1.0', pattern: 'https://127.0.0.1:*', match: false },
    { url: 'https://user:pw@127.0.0.1:8443/1.0', pattern: 'https://127.0.0.1:*', match: false },
    { url: 'http://127.0.0.1:8443/1.0', pattern: 'https://127.0.0.1:*', match: false },
    { url: 'https://127.0.0.10:8443/1.0', pattern: 'https://127.0.0.1:*', match: false },
    { url: 'https://api.example:443/1.0', pattern: 'https://api.example/1.0', match: true },
    { url: 'https://api.example/1.0/../x', pattern: 'https://api.example/1.0', match: false },
    { url: 'https://api.example:8443/1.0', pattern: 'https://api.example/1.0', match: false },
    { url: 'not a url', pattern: 'https://127.0.0.1:*', match: false },
  ])('$url against $pattern: $match', ({ url, pattern, match }) => {
    expect(urlMatches(url, pattern)).toBe(match);
  });
});

describe('secret references', () => {
  const policy = concretePolicy(DEFAULT_POLICY, 'prod-gra', HOME);
  it('names the worker setting to change when it refuses', () => {
    expect(secretRefProblem('env:PATH', policy, HOME)).toMatch(/must start with AUTOK8S_SECRET_PROD_GRA__ .*AUTOK8S_SECRET_ENV_PREFIXES/);
    expect(secretRefProblem('file:/etc/passwd', policy, HOME)).toMatch(/outside the directories .*AUTOK8S_SPEC_PATH_ROOTS/);
    expect(secretRefProblem('AKIA-the-secret-itself', policy, HOME)).toMatch(/not a secret reference/);
  });

  it.each([
    { ref: 'file:/etc/autok8s/clusters/prod-gra/ovh', allowed: true },
    { ref: 'file:/etc/autok8s/clusters/any-cluster/ovh', allowed: true },
    { ref: 'file:/etc/autok8s/clusters/a/b/../../../../shadow', allowed: false },
    { ref: 'file:/etc/autok8s/clusters/', allowed: false },
    { ref: 'file:/etc/passwd', allowed: false },
    { ref: 'env:AUTOK8S_SECRET_PROD_GRA__KEY', allowed: true },
    { ref: 'env:AUTOK8S_SECRET___KEY', allowed: false },
    { ref: 'env:AUTOK8S_PAYLOAD_KEYS', allowed: false },
    { ref: 'env:AUTOK8S_CODEC_TOKEN', allowed: false },
    { ref: 'env:AUTOK8S_SECRET_ENV_PREFIXES', allowed: false },
    { ref: 'env:HOME', allowed: false },
    { ref: 'plain-text', allowed: false },
  ])('for some cluster, the resolver allows $ref: $allowed', ({ ref, allowed }) => {
    expect(secretRefAllowedForSomeCluster(ref, DEFAULT_POLICY, HOME)).toBe(allowed);
  });

  it('a path is inside a root only below it, not beside it', () => {
    const p: WorkerPolicy = { secretEnvPrefixes: [], pathRoots: ['/srv/a'], ovhEndpoints: [] };
    expect(pathAllowed('/srv/a/x', p, HOME)).toBe(true);
    expect(pathAllowed('/srv/ab/x', p, HOME)).toBe(false);
    expect(pathAllowed('relative/x', p, HOME)).toBe(false);
  });
});

describe('policyFromEnv', () => {
  it('takes each setting from the worker’s environment, the defaults for the rest', () => {
    expect(policyFromEnv({})).toEqual({ ...DEFAULT_POLICY, ovhEndpoints: [], nodeNetwork: 'private' });
    expect(policyFromEnv({ AUTOK8S_SPEC_PATH_ROOTS: '/a, /b', AUTOK8S_SECRET_ENV_PREFIXES: '', AUTOK8S_OVH_ENDPOINTS: 'https://127.0.0.1:*', AUTOK8S_NODE_NETWORK: 'loopback' })).toEqual({
      secretEnvPrefixes: [],
      pathRoots: ['/a', '/b'],
      ovhEndpoints: ['https://127.0.0.1:*'],
      nodeNetwork: 'loopback',
    });
  });

  it.each(['LOOPBACK', 'any', 'private,loopback', '1'])('refuses AUTOK8S_NODE_NETWORK=%s, naming the setting and its values', (value) => {
    expect(() => policyFromEnv({ AUTOK8S_NODE_NETWORK: value })).toThrow(/AUTOK8S_NODE_NETWORK=.*must be private or loopback/);
  });
});

describe('the node network a worker drives', () => {
  const root = '/etc/autok8s/clusters/prod-gra';
  /** The fixture renumbered from 10.10.0.0/24 onto `prefix`.0/24, every VM address with it. */
  const renumbered = (prefix: string) => {
    const text = readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8').replaceAll('10.10.0.', `${prefix}.`);
    const s = parseSpec(text);
    return specWithin(root, (t) => Object.assign(t, { network: s.network, servers: t.servers.map((server, i) => ({ ...server, vms: s.servers[i].vms })) }));
  };
  const privateSpec = renumbered('10.10.0');
  const renumberedNetwork = (prefix: string) => ({ network: renumbered(prefix).network, servers: renumbered(prefix).servers.map((server, i) => ({ ...loopbackSpec.servers[i], vms: server.vms })) });
  /** On loopback, with every other address the worker dials on loopback too, as a sandbox writes it. */
  const loopbackSpec = specWithin(root, (t) => {
    const s = renumbered('127.64.3');
    Object.assign(t, { network: s.network, servers: s.servers.map((server, i) => ({ ...server, ssh: { ...server.ssh, address: `127.0.0.1:${2200 + i}` }, proxmox: { ...server.proxmox, url: `https://127.0.0.1:${8006 + i}` }, lbHealthUrl: undefined })) });
  });
  const loopbackPolicy: WorkerPolicy = { ...DEFAULT_POLICY, nodeNetwork: 'loopback' };
  const edited = (edit: (s: ClusterSpec) => void) => {
    const s = structuredClone(loopbackSpec);
    edit(s);
    return s;
  };

  it.each([
    { name: 'a worker for real servers runs a vRack numbered from a private range', spec: privateSpec, policy: DEFAULT_POLICY, refused: undefined },
    { name: 'a worker for real servers refuses a loopback network: its talosctl would dial its own machine', spec: renumbered('127.64.3'), policy: DEFAULT_POLICY, refused: /127\.64\.3\.0\/24 is a loopback network.*RFC 1918.*AUTOK8S_NODE_NETWORK=loopback/, path: 'network.cidr' },
    { name: "a sandbox's worker runs nodes on loopback", spec: loopbackSpec, policy: loopbackPolicy, refused: undefined },
    { name: "a sandbox's worker refuses a private network: its talosctl would dial addresses off this machine", spec: edited((s) => Object.assign(s, renumberedNetwork('10.10.0'))), policy: loopbackPolicy, refused: /10\.10\.0\.0\/24 is not inside 127\.64\.0\.0\/10/, path: 'network.cidr' },
    { name: "a sandbox's worker refuses nodes on 127.0.0.x, where this machine's own sshd listens", spec: edited((s) => Object.assign(s, renumberedNetwork('127.0.0'))), policy: loopbackPolicy, refused: /127\.0\.0\.0\/24 is not inside 127\.64\.0\.0\/10/, path: 'network.cidr' },
    { name: "a sandbox's worker refuses all of 127.0.0.0/8 as one network", spec: edited((s) => (s.network = { ...s.network, cidr: '127.0.0.0/8' })), policy: loopbackPolicy, refused: /127\.0\.0\.0\/8 is not inside 127\.64\.0\.0\/10/, path: 'network.cidr' },
    { name: "a sandbox's worker takes localhost for its simulators (their certificates name it)", spec: edited((s) => (s.servers[0].proxmox.url = 'https://localhost:8006')), policy: loopbackPolicy, refused: undefined, path: undefined },
    { name: "a sandbox's worker refuses an SSH address off this machine", spec: edited((s) => (s.servers[1].ssh.address = '192.0.2.10:22')), policy: loopbackPolicy, refused: /192\.0\.2\.10:22 is not on loopback/, path: 'servers[1].ssh.address' },
    { name: "a sandbox's worker refuses an SSH address by another host name", spec: edited((s) => (s.servers[0].ssh.address = 'evil.example:22')), policy: loopbackPolicy, refused: /evil\.example:22 is not on loopback/, path: 'servers[0].ssh.address' },
    { name: "a sandbox's worker refuses a Proxmox API off this machine", spec: edited((s) => (s.servers[2].proxmox.url = 'https://pve.example:8006')), policy: loopbackPolicy, refused: /pve\.example:8006 is not on loopback/, path: 'servers[2].proxmox.url' },
    { name: "a sandbox's worker refuses a public probe sent to the failover IP itself", spec: edited((s) => (s.publicPath = { ...s.publicPath, mode: 'vmac', bridge: 'vmbr0', interface: 'eth1', probeUrl: 'http://{ip}/healthz' } as ClusterSpec['publicPath'])), policy: loopbackPolicy, refused: /\{ip\}\/healthz is not on loopback/, path: 'publicPath.probeUrl' },
  ])('$name', ({ spec, policy, refused, path }) => {
    const problems = policyProblems(spec, policy, HOME);
    if (!refused) return expect(problems).toEqual([]);
    expect(problems.map((p) => p.path)).toEqual([path ?? 'network.cidr']);
    expect(problems[0].message).toMatch(refused);
  });

  it('the schema takes a loopback network (the policy is what decides), and still refuses a public one', () => {
    const text = readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8');
    expect(parseSpec(text.replaceAll('10.10.0.', '127.64.3.')).network.cidr).toBe('127.64.3.0/24');
    expect(() => parseSpec(text.replaceAll('10.10.0.', '198.51.100.'))).toThrow(/network\.cidr.*must be a private \(RFC 1918\) IPv4 CIDR/s);
  });
});
