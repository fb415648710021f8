import { Command } from 'commander';
import { resolve } from 'node:path';
import { addKey, PAYLOAD_KEYS_ENV, readKeyringFile } from '../../codec/keyring';
import { UsageError } from '../errors';
import { outputFor, outputOption } from './common';

function addCommand(): Command {
  const command = new Command('add')
    .description('Put a new random key on top of a keyring (created 0600 if missing): it encrypts from now on, older keys still decrypt')
    .argument('<file>', 'the keyring file')
    .option('--id <id>', 'the new key\'s ID (default: today\'s date)')
    .addHelpText(
      'after',
      `\nThen point workers and the CLI at it: export ${PAYLOAD_KEYS_ENV}=<file>. After a rotation, restart the workers\nbefore the CLI starts runs with the new key. Keep old keys while histories they encrypted are kept.\n\nExample:\n  autok8s payload-keys add ~/.autok8s/payload-keys`,
    );
  outputOption(command);
  return command.action((file: string, o: { id?: string; output: string }) => {
    const path = resolve(file);
    const id = addKey(path, o.id);
    const keyring = readKeyringFile(path);
    outputFor(o).result({ file: path, added: id, keys: [...keyring.keys.keys()] }, (r) => `added key ${r.added} to ${r.file}; it encrypts new payloads (${r.keys.length} key(s) in all)`);
  });
}

function listCommand(): Command {
  const command = new Command('list')
    .description('Show the key IDs of a keyring and which one encrypts (never the keys)')
    .argument('[file]', `the keyring file (default: $${PAYLOAD_KEYS_ENV})`)
    .addHelpText('after', '\nExample:\n  autok8s payload-keys list ~/.autok8s/payload-keys');
  outputOption(command);
  return command.action((file: string | undefined, o: { output: string }) => {
    const given = file ?? process.env[PAYLOAD_KEYS_ENV];
    if (!given) throw new UsageError(`name the keyring file, or set ${PAYLOAD_KEYS_ENV}`);
    const keyring = readKeyringFile(resolve(given));
    const keys = [...keyring.keys.keys()];
    outputFor(o).result({ file: keyring.source, current: keyring.current, keys }, (r) =>
      [`${r.file}:`, ...r.keys.map((id: string) => `  ${id}${id === r.current ? '   (encrypts; decrypts)' : '   (decrypts)'}`)].join('\n'),
    );
  });
}

export function payloadKeysCommand(): Command {
  return new Command('payload-keys')
    .description(`Manage the payload codec's keyring (${PAYLOAD_KEYS_ENV})`)
    .addCommand(addCommand().exitOverride())
    .addCommand(listCommand().exitOverride());
}
