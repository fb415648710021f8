// Determinism guard: every recorded history under test/histories/ is replayed against the
// current workflow code, one or more per workflow type. A change that would break running
// workflows fails here; README "Changing a workflow" says how to ship one (a new worker
// version for the pinned workflows, patched() for clusterWatcher and clusterLock).
// Record new histories with: RECORD_HISTORIES=1 npx vitest run test/workflows
// Histories are replayed through the payload codec with the test-only keyring of
// test/fixtures: the encrypted one decodes with it, the plain ones pass through (a codec
// that accepts plaintext, as a worker with AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1 that turns
// the codec on over existing runs).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec } from '../../codec/encryption-codec';
import { parseKeyring } from '../../codec/keyring';
import * as workflows from '../../workflows';
import { workflowBundle } from '../../worker/bundle';
import { installQuietRuntime } from '../../worker/worker';

const DIR = join(__dirname, '..', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const KEYRING = join(__dirname, '..', 'fixtures', 'payload-keys');
const dataConverter = { payloadCodecs: [new AesGcmCodec(parseKeyring(readFileSync(KEYRING, 'utf8'), KEYRING), { acceptPlaintext: true })] };

describe('recorded histories replay against the current workflow code', () => {
  it('has a recorded history for every workflow type the worker registers', () => {
    const types = new Set(files.map((f) => f.split('-')[0]));
    expect(Object.keys(workflows).sort().filter((name) => !types.has(name))).toEqual([]);
  });

  it('has an encrypted history, which replays only through the codec', async () => {
    const encrypted = files.filter((f) => f.includes('-encrypted') && readFileSync(join(DIR, f), 'utf8').includes(Buffer.from('binary/encrypted').toString('base64')));
    expect(encrypted.length).toBeGreaterThan(0);
    installQuietRuntime();
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, encrypted[0]), 'utf8')));
    // Without the keys the workflow cannot even read its input: the codec is what makes the replay below pass.
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, encrypted[0])).rejects.toThrow(/binary\/encrypted/);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    installQuietRuntime();
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter }, history, file)).resolves.toBeUndefined();
  });
});
