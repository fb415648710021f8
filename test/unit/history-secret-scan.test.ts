// The history secret scan can catch a leak: canary secrets planted in a crafted history (the
// same protobuf shape fetchHistory returns), in encrypted and clear payloads and in a failure
// message, are each found; an encrypted history is decoded through the codec before it is
// scanned, and one that cannot be decoded stops the scan instead of passing it.
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec } from '../../codec/encryption-codec';
import { parseKeyring } from '../../codec/keyring';
import { findLeaks, fixtureCodec, historyTexts, type NamedSecret } from '../helpers/secrets';

const CANARIES = {
  input: { name: 'canary in the encrypted workflow input', value: 'canary-input-7f3a9c1e5b' },
  pem: { name: 'canary PEM (multi-line) in an encrypted activity result', value: '-----BEGIN PRIVATE KEY-----\nY2FuYXJ5LXBlbS1ib2R5\n-----END PRIVATE KEY-----' },
  clear: { name: 'canary in a clear activity result', value: 'canary-clear-2d8e4f6a0c' },
  failure: { name: 'canary in a failure message', value: 'canary-failure-9b1d3f5e7a' },
} satisfies Record<string, NamedSecret>;
const NEVER_WRITTEN: NamedSecret = { name: 'a secret the history never saw', value: 'never-written-0e2c4a6b8d' };

/** A history as the server returns it: events encoded and decoded through the Temporal protobufs. */
async function craftedHistory(codec: AesGcmCodec, { withLeaks }: { withLeaks: boolean }) {
  const plain = (value: unknown) => defaultPayloadConverter.toPayload(value);
  const encrypted = async (value: unknown) => (await codec.encode([plain(value)]))[0];
  const events = [
    { eventId: 1, workflowExecutionStartedEventAttributes: { input: { payloads: [await encrypted({ reason: withLeaks ? CANARIES.input.value : 'maintenance' })] } } },
    { eventId: 2, activityTaskCompletedEventAttributes: { result: { payloads: [await encrypted({ kubeconfig: withLeaks ? CANARIES.pem.value : '/state/kubeconfig' })] } } },
    { eventId: 3, activityTaskCompletedEventAttributes: { result: { payloads: [plain({ note: withLeaks ? CANARIES.clear.value : 'ok' })] } } },
    { eventId: 4, workflowExecutionFailedEventAttributes: { failure: { message: withLeaks ? `refused: ${CANARIES.failure.value}` : 'refused', source: 'TypeScriptSDK' } } },
  ];
  const History = temporal.api.history.v1.History;
  return History.decode(History.encode(History.fromObject({ events })).finish());
}

const scan = async (history: unknown, codec?: AesGcmCodec) => findLeaks([{ workflowId: 'crafted', texts: await historyTexts(history, codec) }], [...Object.values(CANARIES), NEVER_WRITTEN]);

describe('the history secret scan', () => {
  it('finds every planted canary, encrypted or clear, in a payload or a failure message, and nothing that was not planted', async () => {
    const codec = fixtureCodec();
    const leaks = await scan(await craftedHistory(codec, { withLeaks: true }), codec);
    expect(leaks.map((l) => l.secret).sort()).toEqual(Object.values(CANARIES).map((c) => c.name).sort());
  });

  it('finds nothing in the same history without the canaries', async () => {
    const codec = fixtureCodec();
    expect(await scan(await craftedHistory(codec, { withLeaks: false }), codec)).toEqual([]);
  });

  it('needs the decoding: the encrypted canaries are not in the history as the server stores it', async () => {
    const History = temporal.api.history.v1.History;
    const stored = Buffer.from(History.encode(await craftedHistory(fixtureCodec(), { withLeaks: true })).finish()).toString('latin1');
    expect(stored).not.toContain(CANARIES.input.value);
    expect(stored).not.toContain(CANARIES.pem.value.split('\n')[1]);
    expect(stored).toContain(CANARIES.clear.value); // the clear one is: this read would see them if they were there
  });

  it('refuses to scan an encrypted history it cannot decode, rather than pass it', async () => {
    const history = await craftedHistory(fixtureCodec(), { withLeaks: true });
    await expect(scan(history)).rejects.toThrow(/payload at events\.0\.workflowExecutionStartedEventAttributes\.input\.payloads\.0 is encrypted and cannot be scanned/);
    const otherKeys = new AesGcmCodec(parseKeyring('other-key ' + Buffer.alloc(32, 7).toString('base64'), 'other-keyring'));
    await expect(scan(history, otherKeys)).rejects.toThrow(/encrypted with key test-2026-12, which is not in other-keyring/);
  });
});
