import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { payloadCodec } from '../../codec/data-converter';
import { PAYLOAD_KEYS_ENV } from '../../codec/keyring';
import { codecServerAuthProblem, startCodecServer, type CodecServerAuth } from '../../codec/codec-server';
import { CODEC_TOKEN_ENV, readTokenFile, tokenProblem } from '../../codec/codec-server-auth';
import { UsageError } from '../errors';
import { outputFor, outputOption } from './common';
import { untilSignal } from '../lifecycle';

interface CodecServerFlags {
  port: string;
  allowOrigin: string[];
  allowHost?: string[];
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  output: string;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The flags and the environment → how callers prove who they are; bad input is a UsageError. */
function authFrom(o: CodecServerFlags, env: NodeJS.ProcessEnv): CodecServerAuth {
  let token: string | undefined;
  const source = o.tokenFile ? `--token-file ${o.tokenFile}` : CODEC_TOKEN_ENV;
  if (o.tokenFile) {
    try {
      token = readTokenFile(o.tokenFile);
    } catch (err) {
      throw new UsageError(`--token-file: ${(err as Error).message}`);
    }
  } else if (env[CODEC_TOKEN_ENV]) {
    token = env[CODEC_TOKEN_ENV];
  }
  const problem = token !== undefined ? tokenProblem(token) : undefined;
  if (problem) throw new UsageError(`${source}: ${problem}`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together: give both, or neither');
  if (o.clientCa && !o.tlsCert) throw new UsageError('--client-ca needs --tls-cert and --tls-key: client certificates are checked in a TLS handshake');
  const auth: CodecServerAuth = {
    ...(token !== undefined ? { token } : {}),
    ...(o.tlsCert && o.tlsKey
      ? { tls: { cert: readPem('--tls-cert', o.tlsCert), key: readPem('--tls-key', o.tlsKey), ...(o.clientCa ? { clientCa: readPem('--client-ca', o.clientCa) } : {}) } }
      : {}),
  };
  if (codecServerAuthProblem(auth)) {
    throw new UsageError(
      `the codec server decrypts for whoever it answers: set ${CODEC_TOKEN_ENV} or --token-file (a token from "openssl rand -hex 32"), or require client certificates with --client-ca (and --tls-cert, --tls-key)`,
    );
  }
  return auth;
}

export function codecServerCommand(): Command {
  const command = new Command('codec-server')
    .description('Serve /decode and /encode so the Temporal Web UI shows encrypted payloads decoded (keys from $' + PAYLOAD_KEYS_ENV + '), to callers with the token or a client certificate')
    .option('--port <port>', 'port on 127.0.0.1', '8888')
    .option('--allow-origin <origin...>', 'Web UI origins allowed to call it', ['http://localhost:8233'])
    .option('--allow-host <host...>', 'host names it is reached by besides 127.0.0.1/localhost (Host header), e.g. behind a proxy')
    .option('--token-file <file>', `file holding the token callers must send (mode 0600); else $${CODEC_TOKEN_ENV}`)
    .option('--tls-cert <pem>', 'serve HTTPS with this certificate (with --tls-key)')
    .option('--tls-key <pem>', 'private key of --tls-cert')
    .option('--client-ca <pem>', 'require client certificates signed by this CA (mTLS)')
    .addHelpText(
      'after',
      [
        '',
        'It decrypts for whoever it answers, so it answers only callers with the token (Authorization: Bearer <token>,',
        'or the endpoint <url>/<token>) or, with --client-ca, a client certificate; and only under its own host names',
        'and the --allow-origin origins.',
        '',
        "Web UI: codec endpoint http://127.0.0.1:<port>/<token> (Settings → Codec Server, or temporal server start-dev",
        "--ui-codec-endpoint). temporal CLI: --codec-endpoint http://127.0.0.1:<port> --codec-auth 'Bearer <token>'.",
        '',
        'Example:',
        `  export ${PAYLOAD_KEYS_ENV}=~/.autok8s/payload-keys ${CODEC_TOKEN_ENV}=$(openssl rand -hex 32)`,
        '  autok8s codec-server --allow-origin http://localhost:8233',
      ].join('\n'),
    );
  outputOption(command);
  return command.action(async (o: CodecServerFlags) => {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${o.port}: give a port number between 0 and 65535`);
    for (const origin of o.allowOrigin) {
      if (!/^https?:\/\/[^/]+\/?$/.test(origin)) throw new UsageError(`--allow-origin ${origin}: give an origin such as http://localhost:8233 (scheme, host and port, no path)`);
    }
    for (const host of o.allowHost ?? []) {
      if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) throw new UsageError(`--allow-host ${host}: give a host name, optionally with :port (no scheme, no path)`);
    }
    // The workers' keyring, read again when a payload names a new key: a rotation needs no restart
    // here either. It only shows payloads, so one in clear is shown as it is.
    const codec = payloadCodec(process.env, { acceptPlaintext: true });
    if (!codec) throw new UsageError(`${PAYLOAD_KEYS_ENV} is not set; point it at the keyring the workers use (autok8s payload-keys add <file> makes one)`);
    const auth = authFrom(o, process.env);
    const out = outputFor(o);
    const server = await startCodecServer({ codec, port, allowedOrigins: o.allowOrigin, allowedHosts: o.allowHost, auth, log: (line) => out.info(line) });
    const callers = [auth.token !== undefined ? 'token' : undefined, auth.tls?.clientCa ? 'client certificate' : undefined].filter(Boolean).join(' and ');
    out.result(
      { url: server.url, keyId: codec.keyId, allowedOrigins: o.allowOrigin, auth: callers },
      (r) => `codec server on ${r.url} (encrypting with key ${r.keyId}; origins ${r.allowedOrigins.join(', ')}; callers need the ${r.auth}); Ctrl-C stops it`,
    );
    await untilSignal(() => server.close());
  });
}
