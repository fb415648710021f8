// The talosctl commands that talk to nodes, printing what talosctl 1.8 prints: results on
// stdout, progress and mode details on stderr, errors as Go error chains (exit 1), and the
// one quirk callers must know: `etcd members` and `version` report a node's error as a
// WARNING and still exit 0. Output goes to the invocation's io, files resolve against its
// working directory (the stand-in may run inside the sandbox process for a caller elsewhere).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { EtcdMemberView, ResourceView, TalosFailureAnswer, TalosResults } from '../protocol';
import * as say from '../wording';
import { addressing, callNode, CommandError, describeFailure, foldErrors, requireSingleNode, targets, type Addressing } from './client';
import { parseGoDuration } from './flags';
import { inCwd, pathIn, sleep, type Invocation } from './io';

type Call = Parameters<typeof callNode>[2];

/** Calls one node; returns the result or throws the error line talosctl would print. */
async function callOrFail<K extends keyof TalosResults>(a: Addressing, node: string, body: Call & { op: K }, prefix?: string): Promise<TalosResults[K]> {
  const answer = await callNode(a, node, body);
  if (answer.ok) return answer.result as TalosResults[K];
  const text = describeFailure(a, answer.failure);
  throw new CommandError(prefix ? `${prefix}: ${text}` : text);
}

/** Calls every target; node errors are collected, transport errors end the command. */
async function callEach<K extends keyof TalosResults>(a: Addressing, body: Call & { op: K }, transportPrefix: string) {
  const results: { node: string; result: TalosResults[K] }[] = [];
  const failures: TalosFailureAnswer[] = [];
  for (const node of targets(a)) {
    const answer = await callNode(a, node, body);
    if (answer.ok) results.push({ node, result: answer.result as TalosResults[K] });
    else if (answer.failure.scope === 'transport' || a.nodes.length === 0 || a.insecure) throw new CommandError(`${transportPrefix}: ${answer.failure.message}`);
    else failures.push(answer.failure);
  }
  return { results, failures };
}

/** Go's text/tabwriter with padding 3: every column but the last padded to its widest cell. */
export function tabwrite(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join('')).join('\n') + '\n';
}

export async function applyConfig(parsed: Invocation): Promise<void> {
  const f = parsed.flags;
  if ((f['config-patch'] as string[]).length > 0) throw new CommandError('talosctl (sandbox stand-in): apply-config --config-patch is not supported; patch the file first');
  const file = f.file as string;
  if (!file) throw new CommandError('no filename supplied for configuration');
  const mode = f.mode as string;
  if (!['auto', 'no-reboot', 'reboot', 'staged', 'try'].includes(mode)) throw new CommandError(`invalid argument ${JSON.stringify(mode)} for "-m, --mode" flag: possible options are: auto, no-reboot, reboot, staged, try`);
  let configText: string;
  try {
    configText = inCwd(parsed.io, file, (path) => readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CommandError(`failed to read configuration from ${JSON.stringify(file)}: open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  if (configText.length < 1) throw new CommandError('no configuration data read');
  const a = addressing(parsed, f.insecure as boolean);
  for (const node of targets(a)) {
    const result = await callOrFail(a, node, { op: 'applyConfiguration', configText, mode, dryRun: f['dry-run'] as boolean }, 'error applying new configuration');
    if (result.modeDetails) parsed.io.err(result.modeDetails + '\n');
  }
}

export async function bootstrap(parsed: Invocation): Promise<void> {
  const a = addressing(parsed, false);
  if (a.nodes.length > 1) throw new CommandError('command "bootstrap" is not supported with multiple nodes');
  if (parsed.flags['recover-from']) throw new CommandError('talosctl (sandbox stand-in): bootstrap --recover-from is not supported');
  await callOrFail(a, targets(a)[0], { op: 'bootstrap' }, 'error executing bootstrap');
}

export async function etcdMembers(parsed: Invocation): Promise<void> {
  const a = addressing(parsed, false);
  const { results, failures } = await callEach(a, { op: 'etcdMemberList' }, 'error getting members');
  const rows: string[][] = [];
  for (const { node, result } of results) {
    result.members.forEach((m: EtcdMemberView) => rows.push([node, m.id, m.hostname, m.peerUrls.join(','), m.clientUrls.join(','), String(m.learner)]));
  }
  if (rows.length > 0) parsed.io.out(tabwrite([['NODE', 'ID', 'HOSTNAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'], ...rows]));
  if (failures.length > 0) parsed.io.err(`WARNING: ${foldErrors(failures)}`);
}

export async function etcdRemoveMember(parsed: Invocation): Promise<void> {
  const id = parsed.args[0];
  if (!/^[0-9a-fA-F]{1,16}$/.test(id)) throw new CommandError(`error parsing member ID: error parsing etcd member id: strconv.ParseUint: parsing ${JSON.stringify(id)}: invalid syntax`);
  const a = addressing(parsed, false);
  for (const node of targets(a)) await callOrFail(a, node, { op: 'etcdRemoveMemberById', memberId: id.toLowerCase().padStart(16, '0') });
}

export async function etcdLeave(parsed: Invocation): Promise<void> {
  const a = addressing(parsed, false);
  for (const node of targets(a)) await callOrFail(a, node, { op: 'etcdLeaveCluster' });
}

export async function etcdSnapshot(parsed: Invocation): Promise<void> {
  const a = addressing(parsed, false);
  requireSingleNode(a, 'etcd snapshot');
  const { size } = await callOrFail(a, targets(a)[0], { op: 'etcdSnapshot' }, 'error reading file');
  const path = parsed.args[0];
  inCwd(parsed.io, path, (file) => writeFileSync(file, randomBytes(size), { mode: 0o600 }));
  parsed.io.out(`etcd snapshot saved to ${JSON.stringify(path)} (${size} bytes)\n`);
  parsed.io.out(`snapshot info: hash ${randomBytes(4).toString('hex')}, revision ${size % 9973}, total keys ${Math.floor(size / 512)}, total size ${size}\n`);
}

export async function version(parsed: Invocation, clientVersion: string): Promise<void> {
  const f = parsed.flags;
  const out = { write: parsed.io.out };
  out.write('Client:\n');
  if (f.short) out.write(`Talos ${clientVersion}\n`);
  else out.write(`\tTag:         ${clientVersion}\n\tSHA:         sandbox\n\tBuilt:       \n\tGo version:  go1.22.9\n\tOS/Arch:     ${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}\n`);
  if (f.client) return;
  out.write('Server:\n');
  const a = addressing(parsed, f.insecure as boolean);
  const { results, failures } = await callEach(a, { op: 'version' }, 'error getting version');
  for (const { node, result } of results) {
    out.write(`\tNODE:        ${node}\n\tTag:         ${result.tag}\n\tSHA:         ${result.sha}\n\tBuilt:       \n\tGo version:  go1.22.9\n\tOS/Arch:     linux/amd64\n\tEnabled:     RBAC\n`);
  }
  if (failures.length > 0) parsed.io.err(`WARNING: ${foldErrors(failures)}`);
}

export async function kubeconfig(parsed: Invocation): Promise<void> {
  const f = parsed.flags;
  const a = addressing(parsed, false);
  requireSingleNode(a, 'kubeconfig');
  let path = parsed.args[0];
  if (!path) throw new CommandError('talosctl (sandbox stand-in): give the kubeconfig path; merging into ~/.kube/config is not supported');
  const { io } = parsed;
  if (existsSync(pathIn(io, path)) && statSync(pathIn(io, path)).isDirectory()) path = join(path, 'kubeconfig');
  if (existsSync(pathIn(io, path))) {
    if (f.merge) throw new CommandError('talosctl (sandbox stand-in): kubeconfig merging is not supported; pass --merge=false');
    if (!f.force) throw new CommandError(say.kubeconfigExists(path));
  }
  const k = await callOrFail(a, targets(a)[0], { op: 'kubeconfig' }, 'error copying');
  const user = `admin@${k.clusterName}`;
  const fake = (label: string) => Buffer.from(`-----BEGIN ${label}-----\n${randomBytes(300).toString('base64')}\n-----END ${label}-----\n`).toString('base64');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.clusterName, cluster: { server: k.endpoint, 'certificate-authority-data': k.k8sCaCrt } }],
    users: [{ name: user, user: { 'client-certificate-data': fake('CERTIFICATE'), 'client-key-data': fake('EC PRIVATE KEY') } }],
    contexts: [{ context: { cluster: k.clusterName, namespace: 'default', user }, name: user }],
    'current-context': user,
  };
  inCwd(io, path, (file) => writeFileSync(file, stringify(doc, { lineWidth: 0 }), { mode: 0o600 }));
}

export async function reset(parsed: Invocation): Promise<void> {
  const f = parsed.flags;
  const a = addressing(parsed, false);
  let waitMs = 0;
  for (const node of targets(a)) {
    const r = await callOrFail(a, node, { op: 'reset', graceful: f.graceful as boolean, reboot: f.reboot as boolean });
    waitMs = Math.max(waitMs, r.readyInMs);
  }
  // --wait follows the node until it is back (here: in maintenance mode again).
  if (f.wait) await sleep(parsed.io, waitMs + 20);
}

export async function health(parsed: Invocation): Promise<void> {
  const f = parsed.flags;
  const a = addressing(parsed, false);
  if (a.nodes.length > 1) throw new CommandError('command "health" is not supported with multiple nodes');
  const controlPlaneNodes = f['control-plane-nodes'] as string[];
  const workerNodes = f['worker-nodes'] as string[];
  if (controlPlaneNodes.length === 0) throw new CommandError('talosctl (sandbox stand-in): give --control-plane-nodes (discovery-based health is not supported)');
  // Bounded: the longest wait the stand-in honours is 30 minutes.
  const deadline = Date.now() + Math.min(parseGoDuration(f['wait-timeout'] as string), 30 * 60_000);
  const node = targets(a)[0];
  const printed = new Map<string, string>();
  const say1 = (name: string, text: string) => {
    if (printed.get(name) === text) return;
    printed.set(name, text);
    parsed.io.err(`waiting for ${name}: ${text}\n`);
  };
  for (;;) {
    const { checks } = await callOrFail(a, node, { op: 'health', controlPlaneNodes, workerNodes });
    const failing = checks.findIndex((c) => !c.ok);
    for (const c of failing < 0 ? checks : checks.slice(0, failing)) say1(c.name, 'OK');
    if (failing < 0) return;
    const c = checks[failing];
    say1(c.name, c.detail);
    if (Date.now() >= deadline) throw new CommandError(`healthcheck error: waiting for ${c.name}: ${c.detail}: ${say.ETCD_NOT_RUNNING}`);
    await sleep(parsed.io, 200);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value as object).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

export async function get(parsed: Invocation): Promise<void> {
  const f = parsed.flags;
  const a = addressing(parsed, f.insecure as boolean);
  const format = f.output as string;
  if (!['json', 'yaml', 'table'].includes(format)) throw new CommandError(`talosctl (sandbox stand-in): output format ${JSON.stringify(format)} is not supported (json, yaml, table)`);
  const items: ResourceView[] = [];
  const failures: TalosFailureAnswer[] = [];
  for (const node of targets(a)) {
    const answer = await callNode(a, node, { op: 'get', resource: parsed.args[0] });
    if (answer.ok) items.push(...(answer.result as TalosResults['get']).items.filter((i) => parsed.args[1] === undefined || i.metadata.id === parsed.args[1]));
    else if (answer.failure.scope === 'transport') throw new CommandError(answer.failure.message);
    else failures.push(answer.failure);
  }
  if (format === 'json') {
    // encoding/json on a map: keys sorted, four-space indent, one object per resource.
    for (const item of items) parsed.io.out(JSON.stringify(sortKeys({ ...item, node: item.node }), null, 4) + '\n');
  } else if (format === 'yaml') {
    for (const item of items) parsed.io.out('---\n' + stringify({ node: item.node, metadata: item.metadata, spec: item.spec }, { indent: 4 }));
  } else if (items.length > 0) {
    parsed.io.out(
      tabwrite([['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION'], ...items.map((i) => [i.node, String(i.metadata.namespace), String(i.metadata.type).split('.')[0], String(i.metadata.id), String(i.metadata.version)])]),
    );
  }
  if (failures.length > 0) throw new CommandError(foldErrors(failures));
}
