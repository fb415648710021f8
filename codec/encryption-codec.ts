// AES-256-GCM payload codec (docs/design.md §4.7): every payload the worker or the CLI hands to
// Temporal (workflow inputs and results, activity arguments and results, signals, queries,
// heartbeat details, schedule actions) is stored encrypted; the Temporal server and anyone
// reading its database see only `binary/encrypted` and the key ID.
//
// The whole Payload (metadata and data) is encrypted, as in temporalio/samples-typescript's
// encryption sample, so the original encoding travels inside. Layout of `data`:
// 12-byte random IV ‖ ciphertext ‖ 16-byte GCM tag. The key ID is authenticated as
// associated data, so a payload relabelled with another key ID fails to decrypt.
//
// Decoding refuses payloads that are not encrypted: whoever can start a workflow or send a
// signal, but holds no key, could otherwise hand an encrypting worker any input it likes.
// A codec made with `acceptPlaintext` passes them through instead: for a worker that turns
// encryption on over runs started in clear (AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1), for replaying
// histories recorded in clear, and for the codec server, which only shows payloads.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/encoding';
import { temporal } from '@temporalio/proto';
import { PAYLOAD_KEYS_ENV, type Keyring } from './keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Set to 1 on a worker to accept payloads that are not encrypted (codec/data-converter.ts). */
export const ACCEPT_PLAINTEXT_ENV = 'AUTOK8S_ACCEPT_PLAINTEXT_INPUTS';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface AesGcmCodecOptions {
  /**
   * Reads the keyring again (its file, when it changed). Called when a payload names a key
   * this codec does not have: after a rotation, a running worker picks up the new key the
   * first time it meets it instead of failing until it is restarted.
   */
  reload?: () => Keyring;
  /** Pass payloads that are not encrypted through on decoding, instead of refusing them. */
  acceptPlaintext?: boolean;
}

export class AesGcmCodec implements PayloadCodec {
  private readonly reload?: () => Keyring;
  readonly acceptPlaintext: boolean;

  constructor(
    private keyring: Keyring,
    options: AesGcmCodecOptions = {},
  ) {
    this.reload = options.reload;
    this.acceptPlaintext = options.acceptPlaintext ?? false;
  }

  /** The ID of the key new payloads are encrypted with. */
  get keyId(): string {
    return this.keyring.current;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.keyring.current;
    const key = this.keyring.keys.get(id)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: encode(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: encode(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decode(encoding) !== ENCRYPTED_ENCODING) {
        if (this.acceptPlaintext) return payload;
        throw new ValueError(
          `refused a payload that is not encrypted (encoding ${encoding ? decode(encoding) : 'none'}): this side encrypts with ${this.keyring.source} (${PAYLOAD_KEYS_ENV}), so its inputs must come encrypted with that keyring; ` +
            `start the run with ${PAYLOAD_KEYS_ENV} set (the temporal CLI: --codec-endpoint of \`autok8s codec-server\`), or set ${ACCEPT_PLAINTEXT_ENV}=1 on the workers to accept plain inputs`,
        );
      }
      const idBytes = payload.metadata?.[METADATA_KEY_ID];
      if (!idBytes) throw new ValueError(`an encrypted payload names no key (metadata ${METADATA_KEY_ID} missing); it was not written by autok8s's codec`);
      const id = decode(idBytes);
      let key = this.keyring.keys.get(id);
      if (!key && this.reload) {
        this.keyring = this.reload();
        key = this.keyring.keys.get(id);
      }
      if (!key) {
        throw new ValueError(
          `a payload is encrypted with key ${id}, which is not in ${this.keyring.source} (${PAYLOAD_KEYS_ENV}); add that key's line back: old keys stay in the keyring for decoding`,
        );
      }
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError(`an encrypted payload (key ${id}) is too short to be one (${data.length} bytes)`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new ValueError(`a payload encrypted with key ${id} does not decrypt with the key of that ID in ${this.keyring.source}: the key was changed, or the payload was`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
