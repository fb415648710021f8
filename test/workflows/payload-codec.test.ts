// Payloads encrypted end to end, as an operator runs it: the real worker process and the
// real `autok8s failover` command, both given AUTOK8S_PAYLOAD_KEYS, move a failover IP in the
// sandbox. The Temporal server then holds only ciphertext: every payload of the run's history
// is binary/encrypted under the keyring's key, and a client without the key cannot read the
// result. The codec server decodes the run's input for whoever holds its token (directly, and
// for `temporal workflow show --codec-endpoint`), and the history replays with the codec.
// A keyring that cannot be used stops the CLI with exit 2 before anything starts. A run started
// in clear (without the keys) is refused by the encrypting worker before its code sees the
// input, unless the worker is told to accept plain inputs; a CLI without the keys is told
// what to set when it meets encrypted results.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { decode } from '@temporalio/common/lib/encoding';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodecServer } from '../../codec/codec-server';
import { payloadDataConverter } from '../../codec/data-converter';
import { AesGcmCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../../codec/encryption-codec';
import { readKeyringFile } from '../../codec/keyring';
import { findTemporalCli } from '../../client/dev/find-temporal-cli';
import { workflowIds } from '../../core/workflow-ids';
import { startSandbox, type Sandbox } from '../../sandbox';
import { workflowBundle } from '../../worker/bundle';
import { installQuietRuntime } from '../../worker/worker';
import { ROOT } from '../helpers/paths';
import { runAutok8s } from '../helpers/cli';
import { findLeaks, historyTexts, keyringSecrets, secretsOf } from '../helpers/secrets';
import { connect, maybeRecordHistory, startChildWorker, temporalAddress, uniqueQueue, waitUntil, type ChildWorker } from '../helpers/temporal';

const IP = '203.0.113.10';
let box: Sandbox;
let plainClient: Client;
let worker: ChildWorker;
const workers: ChildWorker[] = [];
let queue: string;
let keys: string;

const autok8s = (args: string[], env: NodeJS.ProcessEnv = {}) => runAutok8s(args, env, 90_000);

/**
 * Every Payload of a history that carries the workflow's data, with where it sits. Left out:
 * search attributes (the server indexes them, so they are never encoded) and patch markers'
 * patch-data (the SDK's own record of a patch ID, written by its core beneath the codec).
 */
function payloadsOf(node: unknown, path = '', out: { path: string; payload: Payload }[] = []): { path: string; payload: Payload }[] {
  if (node === null || typeof node !== 'object') return out;
  if (path.endsWith('searchAttributes') || path.endsWith('details.patch-data')) return out;
  const o = node as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === 'object' && 'data' in o && (o.metadata as Record<string, unknown>)[METADATA_ENCODING_KEY] !== undefined) {
    out.push({ path, payload: o as Payload });
    return out;
  }
  for (const [k, v] of Object.entries(o)) payloadsOf(v, path ? `${path}.${k}` : k, out);
  return out;
}

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-codec-e2e-')), clusterName: 'codec', latency: { ovh: { moveMs: 300 } }, publicProbe: false });
  // The test-only keyring of test/fixtures, so the recorded history replays in the suite. Git
  // keeps no 0600 mode, and the codec refuses a keyring others can read: copy it first.
  keys = join(box.dir, 'payload-keys');
  copyFileSync(join(ROOT, 'test', 'fixtures', 'payload-keys'), keys);
  chmodSync(keys, 0o600);
  queue = uniqueQueue('codec');
  worker = startChildWorker(queue, { AUTOK8S_PAYLOAD_KEYS: keys });
  await worker.ready;
  plainClient = await connect();
}, 120_000);

afterAll(async () => {
  await worker?.kill('SIGTERM');
  for (const w of workers) await w.kill('SIGTERM');
  await plainClient?.connection.close();
  await box?.stop();
});

describe('payload codec, end to end', () => {
  it('moves the IP through the CLI and the worker while the server stores only ciphertext', async () => {
    expect(worker.output()).toContain('payloads encrypted (AES-256-GCM, key test-2026-12); payloads in clear refused');
    const env = { TEMPORAL_ADDRESS: temporalAddress(), AUTOK8S_TASK_QUEUE: queue, AUTOK8S_PAYLOAD_KEYS: keys };
    const run = await autok8s(['failover', '-f', box.specFile, '--ip', IP, '--to', 'srv-b', '--reason', 'codec-e2e', '--wait', '--output', 'json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ip: IP, to: 'srv-b', moved: true, reason: 'codec-e2e' });
    expect(box.ovh.routing(IP)).toBe(box.spec.servers[1].ovhService);

    const handle = plainClient.workflow.getHandle(workflowIds.failover('codec', IP));
    const history = await handle.fetchHistory();
    const found = payloadsOf(history);
    // The input, every activity's arguments and result, the result: all encrypted, all under the keyring's key.
    expect(found.length).toBeGreaterThanOrEqual(10);
    for (const { path, payload } of found) {
      expect(decode(payload.metadata![METADATA_ENCODING_KEY]), path).toBe(ENCRYPTED_ENCODING);
      expect(decode(payload.metadata![METADATA_KEY_ID]), path).toBe('test-2026-12');
      expect(Buffer.from(payload.data!).toString('latin1'), path).not.toContain('codec-e2e');
    }
    // The secret scan reads this encrypted history: decoded with the keyring, the reason given
    // on the command line (planted as a canary) is found, and no sandbox credential is.
    const canary = { name: 'canary: the --reason of the run', value: 'codec-e2e' };
    const texts = await historyTexts(history, new AesGcmCodec(readKeyringFile(keys), { acceptPlaintext: true }) /* search attributes are never encoded */);
    expect(findLeaks([{ workflowId: handle.workflowId, texts }], [...secretsOf(box), ...keyringSecrets(keys), canary])).toEqual([{ workflowId: handle.workflowId, secret: canary.name }]);
    // Nor does the worker's own log hold a secret or a payload key.
    expect(keyringSecrets(keys)).toHaveLength(1);
    expect(findLeaks([{ workflowId: 'the worker log', texts: [worker.output()] }], [...secretsOf(box), ...keyringSecrets(keys)])).toEqual([]);
    // Without the key, the result cannot be read.
    await expect(handle.result()).rejects.toThrow(/binary\/encrypted/);
    await maybeRecordHistory(handle, 'failoverIp-move-encrypted');

    // With it, through the codec server as the Web UI would ask: the run's input, decoded.
    const token = randomBytes(32).toString('hex');
    const server = await startCodecServer({ codec: new AesGcmCodec(readKeyringFile(keys), { acceptPlaintext: true }), port: 0, allowedOrigins: ['http://localhost:8233'], auth: { token } });
    try {
      const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      const body = { payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(input.data!).toString('base64') }] };
      const res = await fetch(`${server.url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      const decoded = ((await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads[0];
      const value = defaultPayloadConverter.fromPayload({ metadata: Object.fromEntries(Object.entries(decoded.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])), data: Buffer.from(decoded.data, 'base64') });
      expect(value).toMatchObject({ ip: IP, to: 'srv-b', reason: 'codec-e2e' });
      // The Temporal CLI, as README documents it for `temporal workflow start` users: with the codec endpoint it shows the run decoded.
      // (Asynchronously: the codec server answering it runs in this process.)
      const temporalCli = (...args: string[]) => promisify(execFile)(findTemporalCli({ allowInstall: false }).path, ['workflow', 'show', '--address', temporalAddress(), '-w', handle.workflowId, '--output', 'json', ...args], { timeout: 30_000 });
      const inputShown = (stdout: string) => {
        const shown = JSON.parse(stdout).events[0].workflowExecutionStartedEventAttributes.input.payloads[0] as { metadata: { encoding: string }; data: string };
        return { encoding: Buffer.from(shown.metadata.encoding, 'base64').toString(), data: Buffer.from(shown.data, 'base64').toString('latin1') };
      };
      const decodedByCli = inputShown((await temporalCli('--codec-endpoint', server.url, '--codec-auth', `Bearer ${token}`)).stdout);
      expect(decodedByCli.encoding).toBe('json/plain');
      expect(JSON.parse(decodedByCli.data)).toMatchObject({ ip: IP, reason: 'codec-e2e' });
      const withoutCodec = inputShown((await temporalCli()).stdout);
      expect(withoutCodec.encoding).toBe(ENCRYPTED_ENCODING);
      expect(withoutCodec.data).not.toContain('codec-e2e');
    } finally {
      await server.close();
    }

    // The encrypted history replays with the codec.
    installQuietRuntime();
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: keys }) }, history, 'encrypted')).resolves.toBeUndefined();
  }, 120_000);

  it('stops the CLI with exit 2 and starts nothing when the keyring cannot be used', async () => {
    const exposed = join(box.dir, 'exposed-keys');
    writeFileSync(exposed, readFileSync(keys), { mode: 0o644 });
    chmodSync(exposed, 0o644);
    const env = { TEMPORAL_ADDRESS: temporalAddress(), AUTOK8S_TASK_QUEUE: queue };
    const before = box.audit.entries({ service: 'ovh' }).length;
    const exposedRun = await autok8s(['failover', '-f', box.specFile, '--ip', IP, '--to', 'srv-a'], { ...env, AUTOK8S_PAYLOAD_KEYS: exposed });
    expect(exposedRun.code).toBe(2);
    expect(exposedRun.stderr).toContain(`autok8s: ${exposed} can be read by others (mode 644); run "chmod 600 ${exposed}"`);
    const missing = await autok8s(['failover', '-f', box.specFile, '--ip', IP, '--to', 'srv-a'], { ...env, AUTOK8S_PAYLOAD_KEYS: join(box.dir, 'nope') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the payload keys at .*nope \(ENOENT\)/);
    expect(box.audit.entries({ service: 'ovh' }).length).toBe(before);
    expect(box.ovh.routing(IP)).toBe(box.spec.servers[1].ovhService); // still where the first test put it
  }, 120_000);

  it('refuses a run started in clear: its first workflow task fails with the reason, and nothing reaches OVH', async () => {
    const before = box.audit.entries({ service: 'ovh' }).length;
    // As `temporal workflow start --input '{...}'` does it: the input in clear. The refusal comes
    // before the workflow's code reads the input, so its shape does not matter here.
    const handle = await plainClient.workflow.start('failoverIp', {
      taskQueue: queue,
      workflowId: `codec/plain-input/${queue}`,
      args: [{ cluster: 'codec', ip: IP, to: 'srv-a', reason: 'plain-input' }],
    });
    try {
      let failure: string | undefined;
      await waitUntil('the worker refused the first workflow task', async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        failure = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
        return failure !== undefined;
      });
      expect(failure).toContain('refused a payload that is not encrypted (encoding json/plain)');
      expect(failure).toContain('or set AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1 on the workers to accept plain inputs');
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
      expect(box.audit.entries({ service: 'ovh' }).length).toBe(before);
      expect(box.ovh.routing(IP)).toBe(box.spec.servers[1].ovhService);
    } finally {
      await handle.terminate('test: refused plain input');
    }
  }, 120_000);

  it('tells a CLI without the keys that the run is encrypted and what to set (a worker that accepts plain inputs)', async () => {
    // Plain inputs reach this worker; what it writes back is still encrypted.
    const acceptingQueue = uniqueQueue('codec-accepting');
    const accepting = startChildWorker(acceptingQueue, { AUTOK8S_PAYLOAD_KEYS: keys, AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: '1' });
    workers.push(accepting);
    await accepting.ready;
    expect(accepting.output()).toContain('payloads in clear ACCEPTED (AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1)');
    const env = { TEMPORAL_ADDRESS: temporalAddress(), AUTOK8S_TASK_QUEUE: acceptingQueue, AUTOK8S_PAYLOAD_KEYS: '' };
    // Already on srv-b: the run changes nothing, but its answers come back encrypted.
    // --cluster: the spec store already has the spec (the first test applied it).
    const run = await autok8s(['failover', '--cluster', 'codec', '--ip', IP, '--to', 'srv-b', '--wait'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/binary\/encrypted.*; the run's payloads are encrypted: set AUTOK8S_PAYLOAD_KEYS to the workers' keyring/);
  }, 120_000);
});
