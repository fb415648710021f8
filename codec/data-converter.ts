// The one data converter of the worker and the CLI: the default JSON converter, plus the
// AES-GCM codec when AUTOK8S_PAYLOAD_KEYS names a keyring. Both sides must agree, so both
// take it from here. Memoised per keyring file: the worker, its internal client and every
// CLI command share one codec, which reads the file again when it meets a key it lacks.
//
// With a keyring, payloads that are not encrypted are refused (codec/encryption-codec.ts)
// unless AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1: a worker that encrypts takes its inputs only from
// those who hold the keys.
import { statSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { ACCEPT_PLAINTEXT_ENV, AesGcmCodec } from './encryption-codec';
import { KeyringError, PAYLOAD_KEYS_ENV, readKeyringFile, type Keyring } from './keyring';

const converters = new Map<string, DataConverter>();

/**
 * The data converter for this environment: `{}` (the SDK's default) when no keyring is set,
 * else one that encrypts every payload. Throws a KeyringError naming the file and the fix
 * when the keyring cannot be used: better to refuse to start than to store payloads in clear.
 */
export function payloadDataConverter(env: NodeJS.ProcessEnv = process.env, options: { acceptPlaintext?: boolean } = {}): DataConverter {
  const path = env[PAYLOAD_KEYS_ENV];
  if (!path) return {};
  const acceptPlaintext = options.acceptPlaintext ?? acceptsPlaintext(env);
  const key = `${acceptPlaintext ? 'accept' : 'refuse'}:${path}`;
  let converter = converters.get(key);
  if (!converter) {
    converter = { payloadCodecs: [new AesGcmCodec(readKeyringFile(path), { reload: keyringReloader(path), acceptPlaintext })] };
    converters.set(key, converter);
  }
  return converter;
}

/** Pure: whether the environment lets an encrypting side take payloads in clear. */
export function acceptsPlaintext(env: NodeJS.ProcessEnv): boolean {
  const value = env[ACCEPT_PLAINTEXT_ENV];
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new KeyringError(`${ACCEPT_PLAINTEXT_ENV}=${value}: give 1 (accept payloads that are not encrypted) or 0 (refuse them, the default)`);
}

/** The AES-GCM codec a data converter uses, or undefined when it stores payloads in clear. */
export function codecOf(converter: DataConverter): AesGcmCodec | undefined {
  return converter.payloadCodecs?.find((c): c is AesGcmCodec => c instanceof AesGcmCodec);
}

/**
 * The environment's codec, or undefined when no keyring is set. For showing payloads (the
 * codec server) pass acceptPlaintext: a payload in clear is then shown as it is.
 */
export function payloadCodec(env: NodeJS.ProcessEnv = process.env, options: { acceptPlaintext?: boolean } = {}): AesGcmCodec | undefined {
  return codecOf(payloadDataConverter(env, options));
}

/** Reads the keyring file again when it changed since the last read (else the keyring read then). */
function keyringReloader(path: string): () => Keyring {
  let last: { mtimeMs: number; size: number; keyring: Keyring } | undefined;
  return () => {
    const { mtimeMs, size } = statSync(path);
    if (!last || last.mtimeMs !== mtimeMs || last.size !== size) last = { mtimeMs, size, keyring: readKeyringFile(path) };
    return last.keyring;
  };
}

/** For logs: whether payloads are encrypted, and with which key, without the key. */
export function describePayloadProtection(converter: DataConverter): string {
  const codec = codecOf(converter);
  if (!codec) return `payloads NOT encrypted (set ${PAYLOAD_KEYS_ENV} to a keyring: autok8s payload-keys add <file>)`;
  const plain = codec.acceptPlaintext ? `payloads in clear ACCEPTED (${ACCEPT_PLAINTEXT_ENV}=1)` : 'payloads in clear refused';
  return `payloads encrypted (AES-256-GCM, key ${codec.keyId}); ${plain}`;
}
