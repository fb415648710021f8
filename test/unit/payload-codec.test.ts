// The payload codec (codec/): keyring files parsed with errors that name the line and the
// fix; AES-GCM payloads that round-trip, name their key, refuse tampering and relabelling,
// and decode after a rotation; payloads in clear refused unless accepted. The codec server:
// test/unit/payload-codec-server.test.ts.
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/encoding';
import { describe, expect, it } from 'vitest';
import { acceptsPlaintext, describePayloadProtection, payloadDataConverter } from '../../codec/data-converter';
import { AesGcmCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../../codec/encryption-codec';
import { addKey, KeyringError, newKeyLine, parseKeyring, readKeyringFile } from '../../codec/keyring';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'ak8s-codec-'));

const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const value = (p: Payload): unknown => defaultPayloadConverter.fromPayload(p);
const encodingOf = (p: Payload) => decode(p.metadata![METADATA_ENCODING_KEY]);

describe('parseKeyring', () => {
  it('takes the first key as the one that encrypts, and every key for decrypting', () => {
    const k = parseKeyring(`# comment\n\n2026-12 ${K2}\n2026-06 ${K1}\n`, 'keys');
    expect(k.current).toBe('2026-12');
    expect([...k.keys.keys()]).toEqual(['2026-12', '2026-06']);
    expect(k.keys.get('2026-06')).toEqual(Buffer.alloc(32, 1));
  });

  it.each([
    ['one field', `2026-12\n`, /keys line 1: expected "<key-id> <base64 key>", found 1 field/],
    ['three fields', `a ${K1} extra\n`, /keys line 1: expected .* found 3 field/],
    ['a bad ID', `-x ${K1}\n`, /keys line 1: key ID "-x" must be 1-64 letters/],
    ['a short key', `a ${Buffer.alloc(16).toString('base64')}\n`, /keys line 1: key a must be 32 random bytes in base64 \(44 characters\), got 16 byte\(s\); make one with "openssl rand -base64 32"/],
    ['a key that is not base64', `a not*base64!\n`, /key a must be 32 random bytes in base64/],
    ['the same ID twice', `a ${K1}\na ${K2}\n`, /keys line 2: key ID a appears twice/],
    ['no key at all', `# nothing\n`, /keys holds no key; add a line "<key-id> <base64 key>"/],
  ])('refuses %s, naming the line and the fix', (_name, text, message) => {
    expect(() => parseKeyring(text, 'keys')).toThrow(KeyringError);
    expect(() => parseKeyring(text, 'keys')).toThrow(message);
  });

  it('makes lines it accepts', () => {
    const k = parseKeyring(newKeyLine('x.1'), 'generated');
    expect(k.keys.get('x.1')).toHaveLength(32);
    expect(newKeyLine('x.1')).not.toBe(newKeyLine('x.1'));
  });
});

describe('keyring files', () => {
  it('creates a 0600 keyring, puts a rotated key on top and keeps the old one', () => {
    const path = join(dir, 'rotate');
    expect(addKey(path, 'old')).toBe('old');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(addKey(path, 'new')).toBe('new');
    const k = readKeyringFile(path);
    expect(k.current).toBe('new');
    expect([...k.keys.keys()]).toEqual(['new', 'old']);
    expect(() => addKey(path, 'old')).toThrow(/already has a key old; choose another ID/);
    // A date-named default ID, made unique when taken.
    const first = addKey(join(dir, 'dated'));
    expect(first).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(addKey(join(dir, 'dated'))).toBe(`${first}.2`);
  });

  it('refuses a keyring others can read, and a missing one, saying what to do', () => {
    const path = join(dir, 'exposed');
    writeFileSync(path, `a ${K1}\n`, { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(() => readKeyringFile(path)).toThrow(`${path} can be read by others (mode 644); run "chmod 600 ${path}"`);
    expect(() => readKeyringFile(join(dir, 'missing'))).toThrow(/cannot read the payload keys at .*missing \(ENOENT\); create them with "autok8s payload-keys add/);
  });

  it('gives the default converter without AUTOK8S_PAYLOAD_KEYS, and an encrypting one with it', () => {
    expect(payloadDataConverter({})).toEqual({});
    expect(describePayloadProtection({})).toMatch(/payloads NOT encrypted \(set AUTOK8S_PAYLOAD_KEYS/);
    const path = join(dir, 'env');
    addKey(path, 'env-key');
    const converter = payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: path });
    expect(converter.payloadCodecs?.[0]).toBeInstanceOf(AesGcmCodec);
    expect(payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: path })).toBe(converter); // one codec per keyring
    expect(describePayloadProtection(converter)).toBe('payloads encrypted (AES-256-GCM, key env-key); payloads in clear refused');
    const accepting = payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: path, AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: '1' });
    expect(accepting).not.toBe(converter);
    expect(describePayloadProtection(accepting)).toBe('payloads encrypted (AES-256-GCM, key env-key); payloads in clear ACCEPTED (AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1)');
    expect(readFileSync(path, 'utf8')).not.toContain(describePayloadProtection(converter)); // (the key itself is never described)
  });
});

describe('acceptsPlaintext', () => {
  it.each([
    ['unset', {}, false],
    ['empty', { AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: '' }, false],
    ['0', { AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: '0' }, false],
    ['1', { AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: '1' }, true],
    ['true', { AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: 'true' }, true],
  ])('reads %s', (_name, env, expected) => {
    expect(acceptsPlaintext(env)).toBe(expected);
  });

  it('refuses a value that is neither, naming the variable', () => {
    expect(() => acceptsPlaintext({ AUTOK8S_ACCEPT_PLAINTEXT_INPUTS: 'yes please' })).toThrow('AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=yes please: give 1 (accept payloads that are not encrypted) or 0 (refuse them, the default)');
  });
});

describe('a rotation while a worker runs', () => {
  it('lets the running codec decode a payload under the new key, then encrypt with it', async () => {
    const path = join(dir, 'live-rotation');
    addKey(path, 'before');
    const worker = payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: path }).payloadCodecs![0] as AesGcmCodec;
    expect(worker.keyId).toBe('before');
    addKey(path, 'after'); // the operator rotates; a CLI started now encrypts with 'after'
    const cli = new AesGcmCodec(readKeyringFile(path));
    const [fromCli] = await cli.encode([json({ ip: '203.0.113.10' })]);
    expect(decode(fromCli.metadata![METADATA_KEY_ID])).toBe('after');
    expect(value((await worker.decode([fromCli]))[0])).toEqual({ ip: '203.0.113.10' });
    expect(worker.keyId).toBe('after');
    // A key that is in no version of the file is still named, with the fix.
    const stranger = new AesGcmCodec(parseKeyring(`gone ${K1}\n`, 'elsewhere'));
    const [lost] = await stranger.encode([json(1)]);
    await expect(worker.decode([lost])).rejects.toThrow(`a payload is encrypted with key gone, which is not in ${path} (AUTOK8S_PAYLOAD_KEYS)`);
  });
});

describe('AesGcmCodec', () => {
  const codec = new AesGcmCodec(parseKeyring(`k1 ${K1}\n`, 'ring-1'));
  const input = { cluster: 'gra-prod', ip: '203.0.113.10', nested: { list: [1, 2, 3] } };

  it('encrypts the whole payload, names its key, and decodes to the original', async () => {
    const [encrypted] = await codec.encode([json(input)]);
    expect(encodingOf(encrypted)).toBe(ENCRYPTED_ENCODING);
    expect(decode(encrypted.metadata![METADATA_KEY_ID])).toBe('k1');
    expect(Buffer.from(encrypted.data!).toString('latin1')).not.toContain('203.0.113.10');
    expect(Object.keys(encrypted.metadata!)).toEqual([METADATA_ENCODING_KEY, METADATA_KEY_ID]); // the original encoding is inside
    const [decoded] = await codec.decode([encrypted]);
    expect(encodingOf(decoded)).toBe('json/plain');
    expect(value(decoded)).toEqual(input);
  });

  it('uses a fresh IV each time: the same value never encrypts to the same bytes', async () => {
    const [a, b] = await codec.encode([json(input), json(input)]);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  it('refuses a payload in clear, saying how to send it encrypted or how to accept it', async () => {
    await expect(codec.decode([json(input)])).rejects.toThrow(
      'refused a payload that is not encrypted (encoding json/plain): this side encrypts with ring-1 (AUTOK8S_PAYLOAD_KEYS), so its inputs must come encrypted with that keyring; start the run with AUTOK8S_PAYLOAD_KEYS set (the temporal CLI: --codec-endpoint of `autok8s codec-server`), or set AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1 on the workers to accept plain inputs',
    );
    await expect(codec.decode([{ metadata: {}, data: Buffer.from('{}') }])).rejects.toThrow(/not encrypted \(encoding none\)/);
    // One payload in clear among encrypted ones is enough to refuse the lot.
    const [encrypted] = await codec.encode([json(input)]);
    await expect(codec.decode([encrypted, json('sneaked in')])).rejects.toThrow(/not encrypted/);
  });

  it('passes payloads in clear through when made to accept them (histories from before the codec, replay, the codec server)', async () => {
    const accepting = new AesGcmCodec(parseKeyring(`k1 ${K1}\n`, 'ring-1'), { acceptPlaintext: true });
    const plain = json(input);
    const [encrypted] = await codec.encode([json('secret')]);
    const [outPlain, outDecrypted] = await accepting.decode([plain, encrypted]);
    expect(outPlain).toBe(plain);
    expect(value(outDecrypted)).toBe('secret');
  });

  it('refuses a changed payload, and one relabelled with another key ID', async () => {
    const [encrypted] = await codec.encode([json(input)]);
    const flipped = Buffer.from(encrypted.data!);
    flipped[20] ^= 1;
    await expect(codec.decode([{ ...encrypted, data: flipped }])).rejects.toThrow('a payload encrypted with key k1 does not decrypt with the key of that ID in ring-1');
    const both = new AesGcmCodec(parseKeyring(`k1 ${K1}\nk2 ${K1}\n`, 'ring-same-bytes'));
    const relabelled = { ...encrypted, metadata: { ...encrypted.metadata, [METADATA_KEY_ID]: encode('k2') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/key k2 does not decrypt/); // the key ID is authenticated
    await expect(codec.decode([{ ...encrypted, data: Buffer.alloc(10) }])).rejects.toThrow(/too short/);
  });

  it('decodes after a rotation, and names a key that is gone', async () => {
    const [old] = await codec.encode([json(input)]);
    const rotated = new AesGcmCodec(parseKeyring(`k2 ${K2}\nk1 ${K1}\n`, 'ring-2'));
    const [fresh] = await rotated.encode([json('new')]);
    expect(decode(fresh.metadata![METADATA_KEY_ID])).toBe('k2');
    expect(value((await rotated.decode([old]))[0])).toEqual(input);
    const withoutOld = new AesGcmCodec(parseKeyring(`k2 ${K2}\n`, 'ring-3'));
    await expect(withoutOld.decode([old])).rejects.toThrow("a payload is encrypted with key k1, which is not in ring-3 (AUTOK8S_PAYLOAD_KEYS); add that key's line back");
  });
});
