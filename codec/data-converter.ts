// The one data converter of the worker and the CLI: the default JSON converter, plus the
// AES-GCM codec when AUTOK8S_PAYLOAD_KEYS names a keyring. Both sides must agree, so both
// take it from here. Memoised per keyring file: the worker, its internal client and every
// CLI command share one codec, which reads the file again when it meets a key it lacks.
import { statSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './encryption-codec';
import { PAYLOAD_KEYS_ENV, readKeyringFile, type Keyring } from './keyring';

const converters = new Map<string, DataConverter>();

/**
 * The data converter for this environment: `{}` (the SDK's default) when no keyring is set,
 * else one that encrypts every payload. Throws a KeyringError naming the file and the fix
 * when the keyring cannot be used: better to refuse to start than to store payloads in clear.
 */
export function payloadDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  const path = env[PAYLOAD_KEYS_ENV];
  if (!path) return {};
  let converter = converters.get(path);
  if (!converter) {
    converter = { payloadCodecs: [new AesGcmCodec(readKeyringFile(path), keyringReloader(path))] };
    converters.set(path, converter);
  }
  return converter;
}

/** The AES-GCM codec a data converter uses, or undefined when it stores payloads in clear. */
export function codecOf(converter: DataConverter): AesGcmCodec | undefined {
  return converter.payloadCodecs?.find((c): c is AesGcmCodec => c instanceof AesGcmCodec);
}

/** The environment's codec (the one its data converter uses), or undefined when no keyring is set. */
export function payloadCodec(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | undefined {
  return codecOf(payloadDataConverter(env));
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
  return codec ? `payloads encrypted (AES-256-GCM, key ${codec.keyId})` : `payloads NOT encrypted (set ${PAYLOAD_KEYS_ENV} to a keyring: autok8s payload-keys add <file>)`;
}
