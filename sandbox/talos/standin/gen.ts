// `talosctl gen secrets` and `talosctl gen config`, locally as talosctl does them: a
// secrets bundle, v1alpha1 machine configs built from it with strategic-merge patches,
// and a talosconfig. Shapes follow Talos 1.8 (pkg/machinery/config/generate); certificate
// bodies are random placeholders: nothing in the sandbox parses them, and a cluster's
// identity is the SHA-256 of its OS CA, as a real node's TLS trust would make it.
// Paths resolve against the invocation's working directory and output goes to its io
// (the stand-in may run inside the sandbox process for a caller elsewhere).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import * as say from '../wording';
import { CommandError } from './client';
import { inCwd, pathIn, type Invocation, type StandInIo } from './io';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

const b64 = (bytes: number) => randomBytes(bytes).toString('base64');
const pem = (label: string, bytes: number) => {
  const body = randomBytes(bytes).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return Buffer.from(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`).toString('base64');
};
const token = () => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
};

export interface SecretsBundle {
  cluster: { id: string; secret: string };
  secrets: { bootstraptoken: string; secretboxencryptionsecret: string };
  trustdinfo: { token: string };
  certs: {
    etcd: { crt: string; key: string };
    k8s: { crt: string; key: string };
    k8saggregator: { crt: string; key: string };
    k8sserviceaccount: { key: string };
    os: { crt: string; key: string };
  };
}

/**
 * The OS CA is real (Ed25519, as talosctl makes it): nodes serving the Talos API issue their
 * certificates from it and verify talosconfigs against it. The other CAs are placeholders:
 * nothing in the sandbox speaks TLS with them.
 */
/**
 * The certificate module, loaded on first use (x509 and its reflection polyfill cost start-up
 * the other stand-in commands need not pay). `require`, not `import()`: the stand-in also runs
 * from the TypeScript sources under tsx's CommonJS hook, where a dynamic import of an
 * extensionless path is not resolved.
 */
function loadCerts(): typeof import('../grpc/certs') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../grpc/certs') as typeof import('../grpc/certs');
}

async function osCa(): Promise<{ crt: string; key: string }> {
  const { newCa } = loadCerts();
  const ca = await newCa('talos');
  const key = ca.keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '-----$1 ED25519 PRIVATE KEY-----');
  return { crt: Buffer.from(ca.crtPem).toString('base64'), key: Buffer.from(key).toString('base64') };
}

export async function newSecretsBundle(): Promise<SecretsBundle> {
  const os = await osCa();
  return {
    cluster: { id: b64(32), secret: b64(32) },
    secrets: { bootstraptoken: token(), secretboxencryptionsecret: b64(32) },
    trustdinfo: { token: token() },
    certs: {
      etcd: { crt: pem('CERTIFICATE', 380), key: pem('EC PRIVATE KEY', 121) },
      k8s: { crt: pem('CERTIFICATE', 380), key: pem('EC PRIVATE KEY', 121) },
      k8saggregator: { crt: pem('CERTIFICATE', 360), key: pem('EC PRIVATE KEY', 121) },
      k8sserviceaccount: { key: pem('EC PRIVATE KEY', 121) },
      os,
    },
  };
}

/** Go's yaml.v3 indents by four spaces, and Talos files look like that. */
const toYaml = (value: unknown) => stringify(value, { indent: 4, lineWidth: 0 });

function refuseOverwrite(path: string, force: boolean): void {
  if (!force && existsSync(path)) throw new CommandError(say.fileExists(path));
}

export async function genSecrets(parsed: Invocation): Promise<void> {
  const output = pathIn(parsed.io, parsed.flags['output-file'] as string);
  refuseOverwrite(output, parsed.flags.force as boolean);
  writeFileSync(output, toYaml(await newSecretsBundle()), { mode: 0o600 });
}

function loadSecrets(io: StandInIo, path: string): SecretsBundle {
  let doc: unknown;
  try {
    doc = parse(inCwd(io, path, (file) => readFileSync(file, 'utf8')));
  } catch (err) {
    throw new CommandError(`failed to load secrets bundle: ${(err as Error).message}`);
  }
  const certs = isObject(doc) && isObject(doc.certs) ? doc.certs : undefined;
  if (!isObject(doc) || !certs || !isObject(certs.os) || typeof certs.os.crt !== 'string' || !isObject(doc.cluster) || !isObject(doc.trustdinfo)) {
    throw new CommandError(`failed to load secrets bundle: ${path} is not a secrets bundle (talosctl gen secrets)`);
  }
  return doc as unknown as SecretsBundle;
}

/** Talos's strategic merge: mappings merge, lists append, interfaces merge by name, podSubnets/serviceSubnets replace. */
export function strategicMerge(base: unknown, patch: unknown, path: string[] = []): unknown {
  if (isObject(base) && isObject(patch)) {
    const out: Json = { ...base };
    for (const [key, value] of Object.entries(patch)) out[key] = key in base ? strategicMerge(base[key], value, [...path, key]) : value;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch)) {
    const leaf = path[path.length - 1];
    if (leaf === 'podSubnets' || leaf === 'serviceSubnets') return patch;
    if (leaf === 'interfaces') {
      const out = [...base];
      for (const item of patch) {
        const name = isObject(item) ? item.interface : undefined;
        const at = name === undefined ? -1 : out.findIndex((b) => isObject(b) && b.interface === name);
        if (at >= 0) out[at] = strategicMerge(out[at], item, [...path, String(at)]);
        else out.push(item);
      }
      return out;
    }
    return [...base, ...patch];
  }
  return patch;
}

function loadPatch(io: StandInIo, spec: string): Json {
  let text = spec;
  if (spec.startsWith('@')) {
    try {
      text = inCwd(io, spec.slice(1), (file) => readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CommandError(`error parsing config JSON patch: open ${spec.slice(1)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new CommandError(`error parsing config JSON patch: ${(err as Error).message.split('\n')[0]}`);
  }
  if (Array.isArray(doc)) throw new CommandError('error parsing config JSON patch: JSON6902 patches are not supported by the sandbox stand-in; use a strategic merge patch');
  if (!isObject(doc)) throw new CommandError('error parsing config JSON patch: the patch is not a YAML mapping');
  return doc;
}

interface GenInput {
  clusterName: string;
  endpoint: string;
  secrets: SecretsBundle;
  kubernetesVersion: string;
  installDisk: string;
  installImage: string;
  additionalSans: string[];
  dnsDomain: string;
}

function baseConfig(type: 'controlplane' | 'worker', input: GenInput): Json {
  const k8s = input.kubernetesVersion.replace(/^v/, '');
  const { secrets } = input;
  const host = new URL(input.endpoint).hostname;
  const machine: Json = {
    type,
    token: secrets.trustdinfo.token,
    ca: { crt: secrets.certs.os.crt, key: type === 'worker' ? '' : secrets.certs.os.key },
    certSANs: [],
    kubelet: { image: `ghcr.io/siderolabs/kubelet:v${k8s}`, defaultRuntimeSeccompProfileEnabled: true, disableManifestsDirectory: true },
    network: {},
    install: { disk: input.installDisk, image: input.installImage, wipe: false },
    features: {
      rbac: true,
      stableHostname: true,
      apidCheckExtKeyUsage: true,
      diskQuotaSupport: true,
      kubePrism: { enabled: true, port: 7445 },
      hostDNS: { enabled: true, forwardKubeDNSToHost: true },
    },
    ...(type === 'controlplane' ? { nodeLabels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } } : {}),
  };
  const common: Json = {
    id: secrets.cluster.id,
    secret: secrets.cluster.secret,
    controlPlane: { endpoint: input.endpoint },
    clusterName: input.clusterName,
    network: { dnsDomain: input.dnsDomain, podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'] },
    token: secrets.secrets.bootstraptoken,
  };
  const cluster: Json =
    type === 'worker'
      ? { ...common, ca: { crt: secrets.certs.k8s.crt, key: '' }, discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } } }
      : {
          ...common,
          secretboxEncryptionSecret: secrets.secrets.secretboxencryptionsecret,
          ca: secrets.certs.k8s,
          aggregatorCA: secrets.certs.k8saggregator,
          serviceAccount: secrets.certs.k8sserviceaccount,
          apiServer: { image: `registry.k8s.io/kube-apiserver:v${k8s}`, certSANs: [...new Set([host, ...input.additionalSans])], disablePodSecurityPolicy: true },
          controllerManager: { image: `registry.k8s.io/kube-controller-manager:v${k8s}` },
          proxy: { image: `registry.k8s.io/kube-proxy:v${k8s}` },
          scheduler: { image: `registry.k8s.io/kube-scheduler:v${k8s}` },
          discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } },
          etcd: { ca: secrets.certs.etcd },
          extraManifests: [],
          inlineManifests: [],
        };
  return { version: 'v1alpha1', debug: false, persist: true, machine, cluster };
}

async function talosconfig(clusterName: string, secrets: SecretsBundle): Promise<Json> {
  // A fresh admin client certificate every time, as talosctl signs a new one per run.
  const { issueClientCert } = loadCerts();
  const fromB64 = (b: string) => Buffer.from(b, 'base64').toString('utf8');
  const client = await issueClientCert({ crtPem: fromB64(secrets.certs.os.crt), keyPem: fromB64(secrets.certs.os.key) }, ['os:admin']);
  const key = client.keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '-----$1 ED25519 PRIVATE KEY-----');
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return { context: clusterName, contexts: { [clusterName]: { endpoints: [], ca: secrets.certs.os.crt, crt: b64(client.certPem), key: b64(key) } } };
}

const OUTPUT_TYPES = ['controlplane', 'worker', 'talosconfig'] as const;

export async function genConfig(parsed: Invocation, talosctlVersion: string): Promise<void> {
  const [clusterName, endpoint] = parsed.args;
  const f = parsed.flags;
  const { io } = parsed;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CommandError(`no scheme specified for the cluster endpoint URL\ntry: "https://${endpoint}"`);
  }
  if (url.protocol !== 'https:') throw new CommandError(`the control plane endpoint URL should have scheme https://\ntry: "https://${url.host}"`);
  const talosVersion = f['talos-version'] as string;
  if (talosVersion && !/^v?\d+\.\d+(\.\d+)?$/.test(talosVersion)) throw new CommandError(`invalid talos-version: error parsing version ${JSON.stringify(talosVersion)}`);

  const types = f['output-types'] as string[];
  if (types.length === 0) throw new CommandError('at least one output type must be specified');
  const invalid = types.filter((t) => !(OUTPUT_TYPES as readonly string[]).includes(t));
  if (invalid.length > 0) throw new CommandError(invalid.map((t) => `invalid output type: ${JSON.stringify(t)}`).join('\n'));
  const output = (f.output as string) || (f['output-dir'] as string);
  if (types.length > 1 && output === '-') throw new CommandError("can't use multiple output types with stdout");

  let secrets: SecretsBundle;
  if (f['with-secrets']) secrets = loadSecrets(io, f['with-secrets'] as string);
  else {
    io.err('generating PKI and tokens\n');
    secrets = await newSecretsBundle();
  }
  const input: GenInput = {
    clusterName,
    endpoint: url.toString().replace(/\/$/, ''),
    secrets,
    kubernetesVersion: f['kubernetes-version'] as string,
    installDisk: f['install-disk'] as string,
    installImage: (f['install-image'] as string) || `ghcr.io/siderolabs/installer:${talosctlVersion}`,
    additionalSans: f['additional-sans'] as string[],
    dnsDomain: f['dns-domain'] as string,
  };
  const loadPatches = (flag: string) => (f[flag] as string[]).map((spec) => loadPatch(io, spec));
  const all = loadPatches('config-patch');
  const perType = { controlplane: loadPatches('config-patch-control-plane'), worker: loadPatches('config-patch-worker') };

  // Where each type goes: one type and -o: that file; several: files in the -o directory.
  const single = types.length === 1 && !f['output-dir'];
  const destination = (type: string) => {
    if (output === '-') return '-';
    if (output && single) return pathIn(io, output);
    const dir = pathIn(io, output || '.');
    return join(dir, type === 'talosconfig' ? 'talosconfig' : `${type}.yaml`);
  };
  const client = types.includes('talosconfig') ? await talosconfig(clusterName, secrets) : undefined;
  const writes = types.map((type) => {
    let data: string;
    if (type === 'talosconfig') data = toYaml(client);
    else {
      const t = type as 'controlplane' | 'worker';
      const merged = [...all, ...perType[t]].reduce<unknown>((cfg, patch) => strategicMerge(cfg, patch), baseConfig(t, input));
      data = toYaml(merged);
    }
    return { path: destination(type), data };
  });
  for (const w of writes) if (w.path !== '-') refuseOverwrite(w.path, f.force as boolean);
  for (const w of writes) {
    if (w.path === '-') {
      io.out(w.data);
      continue;
    }
    mkdirSync(dirname(w.path), { recursive: true });
    writeFileSync(w.path, w.data, { mode: 0o644 });
    io.err(`Created ${w.path}\n`);
  }
}
