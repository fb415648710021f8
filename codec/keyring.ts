// The payload keys: a file named by AUTOK8S_PAYLOAD_KEYS, one key per line,
//
//   # autok8s payload keys: the first line encrypts, every line decrypts
//   2026-12 q9N2...base64 of 32 random bytes...=
//   2026-06 Zx0c...=
//
// The first key encrypts new payloads; every key decrypts, so a rotation puts a new line on
// top and keeps the old ones for as long as histories encrypted with them are kept. Each
// payload names its key ID (docs/design.md §4.7). A plain text file rather than YAML: a line is
// `openssl rand -base64 32` away, and `autok8s payload-keys add` writes one.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';

export const PAYLOAD_KEYS_ENV = 'AUTOK8S_PAYLOAD_KEYS';
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEY_BYTES = 32; // AES-256

/** Why `id` cannot be a key ID, or undefined when it can. */
function keyIdProblem(id: string): string | undefined {
  return KEY_ID.test(id) ? undefined : `key ID ${JSON.stringify(id)} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`;
}

export interface Keyring {
  /** Where the keys came from, for messages (a path; never the keys). */
  source: string;
  /** The ID of the key that encrypts. */
  current: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** A keyring file that cannot be used: says which line and what to do. */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

/** Pure: the text of a keyring file → its keys. `source` only names it in errors. */
export function parseKeyring(text: string, source: string): Keyring {
  const keys = new Map<string, Buffer>();
  let current: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new KeyringError(`${where}: expected "<key-id> <base64 key>", found ${fields.length} field(s); write one key per line, e.g. "2026-12 $(openssl rand -base64 32)"`);
    const [id, encoded] = fields;
    const idProblem = keyIdProblem(id);
    if (idProblem) throw new KeyringError(`${where}: ${idProblem}`);
    if (keys.has(id)) throw new KeyringError(`${where}: key ID ${id} appears twice; every key needs its own ID (payloads name the key that encrypted them)`);
    const key = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) throw new KeyringError(`${where}: key ${id} must be ${KEY_BYTES} random bytes in base64 (44 characters), got ${key.length} byte(s); make one with "openssl rand -base64 32"`);
    keys.set(id, key);
    current ??= id;
  });
  if (current === undefined) throw new KeyringError(`${source} holds no key; add a line "<key-id> <base64 key>" (autok8s payload-keys add ${source})`);
  return { source, current, keys };
}

/** Pure: a new keyring line with a fresh random key. */
export function newKeyLine(id: string): string {
  const idProblem = keyIdProblem(id);
  if (idProblem) throw new KeyringError(idProblem);
  return `${id} ${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** Reads a keyring file; refuses one that others than its owner can read, as ssh does with keys. */
export function readKeyringFile(path: string): Keyring {
  let text: string;
  try {
    const { mode } = statSync(path);
    if ((mode & 0o077) !== 0 && process.platform !== 'win32') {
      throw new KeyringError(`${path} can be read by others (mode ${(mode & 0o777).toString(8)}); run "chmod 600 ${path}"`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof KeyringError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new KeyringError(`cannot read the payload keys at ${path} (${code}); create them with "autok8s payload-keys add ${path}" or fix ${PAYLOAD_KEYS_ENV}`);
  }
  return parseKeyring(text, path);
}

/**
 * Puts a new key on top of the keyring at `path` (created 0600 when missing): new payloads
 * are encrypted with it, the older keys still decrypt. Returns the new key's ID.
 */
export function addKey(path: string, id: string = defaultKeyId(path)): string {
  const line = newKeyLine(id);
  if (!existsSync(path)) {
    writeFileSync(path, `# autok8s payload keys: the first line encrypts, every line decrypts\n${line}\n`, { mode: 0o600 });
    return id;
  }
  const before = readKeyringFile(path); // refuses a broken or exposed file before changing it
  if (before.keys.has(id)) throw new KeyringError(`${path} already has a key ${id}; choose another ID (--id)`);
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const firstKey = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  lines.splice(firstKey, 0, line);
  writeFileSync(path, lines.join('\n'), { mode: 0o600 });
  chmodSync(path, 0o600);
  return id;
}

/** A key ID from the date (2026-12-01), with a suffix when the keyring already has one. */
function defaultKeyId(path: string): string {
  const base = new Date().toISOString().slice(0, 10);
  const taken = existsSync(path) ? readKeyringFile(path).keys : new Map<string, Buffer>();
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}.${n}`)) return `${base}.${n}`;
}
