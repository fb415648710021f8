// Secret scanning for the "no secrets in histories" invariant: every credential the
// sandbox handed out, and the key material of the Talos secrets bundle, as plain strings;
// and every text a history holds, its payloads decoded through the payload codec first, so
// that an encrypted history is scanned as plainly as a clear one.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode } from '@temporalio/common/lib/encoding';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../codec/encryption-codec';
import { parseKeyring } from '../../codec/keyring';
import type { Sandbox } from '../../sandbox';
import { ROOT } from './paths';

export interface NamedSecret {
  name: string;
  value: string;
}

/** Long leaf strings of a YAML/PEM text: the values that would betray a leak. */
function keyMaterial(text: string): string[] {
  return text
    .split(/\s+/)
    .map((t) => t.replace(/^["']|["'],?$/g, ''))
    .filter((t) => t.length >= 24 && /^[A-Za-z0-9+/=_.-]+$/.test(t) && !/^(https?|sha256):/.test(t));
}

/** The key material of a payload keyring file (one `<key ID> <base64 key>` per line). */
export function keyringSecrets(file: string): NamedSecret[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line, i) => ({ name: `payload key ${i}`, value: line.trim().split(/\s+/).at(-1)! }));
}

export function secretsOf(box: Sandbox): NamedSecret[] {
  const secrets: NamedSecret[] = [];
  const dir = join(box.dir, 'secrets');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (file === 'ssh-key') keyMaterial(text).forEach((v, i) => secrets.push({ name: `ssh private key part ${i}`, value: v }));
    else secrets.push({ name: file, value: text.trim() });
  }
  const stateDir = box.spec.state.dir!;
  // The Talos secrets bundle, the admin talosconfig and kubeconfig: their keys and certificates.
  for (const file of ['secrets.yaml', 'talosconfig', 'kubeconfig']) {
    const path = join(stateDir, file);
    if (existsSync(path)) keyMaterial(readFileSync(path, 'utf8')).forEach((v, i) => secrets.push({ name: `talos ${file} value ${i}`, value: v }));
  }
  return secrets.filter((s) => s.value.length >= 8);
}

export const FIXTURE_KEYRING = join(ROOT, 'test', 'fixtures', 'payload-keys');

/** The codec of the test-only keyring in test/fixtures (read as text: git keeps no 0600 mode). */
export function fixtureCodec(): AesGcmCodec {
  return new AesGcmCodec(parseKeyring(readFileSync(FIXTURE_KEYRING, 'utf8'), FIXTURE_KEYRING), { acceptPlaintext: true }); // a scan reads clear payloads too
}

export interface ScannedHistory {
  workflowId: string;
  /** Every text of the history: decoded payload data, the string leaves of JSON payloads, and every other string field. */
  texts: string[];
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function looksLikePayload(o: Record<string, unknown>): boolean {
  const metadata = o.metadata;
  return !!metadata && typeof metadata === 'object' && isBytes((metadata as Record<string, unknown>)[METADATA_ENCODING_KEY]);
}

function stringLeaves(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(k), stringLeaves(v, out);
}

/**
 * Every text a history (as fetchHistory returns it) carries. Each payload goes through
 * `codec` first; a payload still encrypted after that cannot be scanned, so it is an error,
 * never a silent pass. JSON payloads also give their parsed string leaves: a secret with a
 * newline or a quote is escaped in the JSON text and would not be found in it verbatim.
 */
export async function historyTexts(history: unknown, codec?: PayloadCodec): Promise<string[]> {
  const texts: string[] = [];
  const visit = async (node: unknown, path: string): Promise<void> => {
    if (typeof node === 'string') return void texts.push(node);
    if (isBytes(node)) return void texts.push(Buffer.from(node).toString('utf8'));
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (looksLikePayload(o)) {
      const [payload] = codec ? await codec.decode([o as Payload]) : [o as Payload];
      const encoding = decode(payload.metadata![METADATA_ENCODING_KEY]!);
      if (encoding === ENCRYPTED_ENCODING) throw new Error(`the payload at ${path} is encrypted and cannot be scanned; pass the codec of the keyring that encrypted it`);
      const text = Buffer.from(payload.data ?? new Uint8Array()).toString('utf8');
      texts.push(text);
      if (encoding === 'json/plain') stringLeaves(JSON.parse(text), texts);
      return;
    }
    for (const [k, v] of Object.entries(o)) await visit(v, path ? `${path}.${k}` : k);
  };
  await visit(history, '');
  return texts;
}

/** Every history of the cluster's workflows, scanned with `codec` (see historyTexts). */
export async function collectHistories(client: Client, cluster: string, codec?: PayloadCodec): Promise<ScannedHistory[]> {
  const out: ScannedHistory[] = [];
  for await (const execution of client.workflow.list({ query: `AutoK8sCluster = "${cluster}"` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    out.push({ workflowId: execution.workflowId, texts: await historyTexts(history, codec) });
  }
  return out;
}

export interface Leak {
  workflowId: string;
  secret: string;
}

/** Pure: which secret appears in which history, by name (never the value: the report must not leak it either). */
export function findLeaks(histories: readonly ScannedHistory[], secrets: readonly NamedSecret[]): Leak[] {
  return histories.flatMap(({ workflowId, texts }) => secrets.filter((s) => texts.some((t) => t.includes(s.value))).map((s) => ({ workflowId, secret: s.name })));
}
