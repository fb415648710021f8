import { Command } from 'commander';
import { payloadCodec } from '../../codec/data-converter';
import { PAYLOAD_KEYS_ENV } from '../../codec/keyring';
import { startCodecServer } from '../../codec/codec-server';
import { UsageError } from '../errors';
import { outputFor, outputOption } from './common';
import { untilSignal } from '../lifecycle';

export function codecServerCommand(): Command {
  const command = new Command('codec-server')
    .description('Serve /decode and /encode so the Temporal Web UI shows encrypted payloads decoded (keys from $' + PAYLOAD_KEYS_ENV + ')')
    .option('--port <port>', 'port on 127.0.0.1', '8888')
    .option('--allow-origin <origin...>', 'Web UI origins allowed to call it', ['http://localhost:8233'])
    .addHelpText(
      'after',
      `\nThen set the UI's codec endpoint to http://127.0.0.1:<port> (Web UI: Settings → Codec Server, or\ntemporal server start-dev --ui-codec-endpoint), or: temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:<port>\n\nExample:\n  ${PAYLOAD_KEYS_ENV}=~/.autok8s/payload-keys autok8s codec-server --allow-origin http://localhost:8233`,
    );
  outputOption(command);
  return command.action(async (o: { port: string; allowOrigin: string[]; output: string }) => {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${o.port}: give a port number between 0 and 65535`);
    for (const origin of o.allowOrigin) {
      if (!/^https?:\/\/[^/]+\/?$/.test(origin)) throw new UsageError(`--allow-origin ${origin}: give an origin such as http://localhost:8233 (scheme, host and port, no path)`);
    }
    // The workers' codec, rereading the keyring when it meets a new key: a rotation needs no restart here either.
    const codec = payloadCodec();
    if (!codec) throw new UsageError(`${PAYLOAD_KEYS_ENV} is not set; point it at the keyring the workers use (autok8s payload-keys add <file> makes one)`);
    const out = outputFor(o);
    const server = await startCodecServer({ codec, port, allowedOrigins: o.allowOrigin, log: (line) => out.info(line) });
    out.result({ url: server.url, keyId: codec.keyId, allowedOrigins: o.allowOrigin }, (r) => `codec server on ${r.url} (encrypting with key ${r.keyId}; origins ${r.allowedOrigins.join(', ')}); Ctrl-C stops it`);
    await untilSignal(() => server.close());
  });
}
