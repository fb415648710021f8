import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { startLocalStack } from '../dev/local-stack';
import { untilSignal } from '../lifecycle';
import { outputFor, outputOption } from './common';
import { parseServerCount } from './sandbox';

export function devCommand(): Command {
  const command = new Command('dev')
    .description('Start a Temporal dev server (Web UI, SQLite file), the sandbox and a worker; runs until Ctrl-C')
    .option('--dir <dir>', 'where the dev server database and the sandbox live', '.autok8s/dev')
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port', '8233')
    .option('--servers <n>', 'number of simulated OVH servers', '3')
    .addHelpText(
      'after',
      '\nExamples:\n  autok8s dev\n  # in another terminal:\n  autok8s bootstrap -f .autok8s/dev/sandbox/cluster.yaml --wait\n  autok8s sandbox hook keepalived-stop srv-a --dir .autok8s/dev/sandbox',
    );
  outputOption(command);
  return command.action(async (options: { dir: string; port: string; uiPort: string; servers: string; output: string }) => {
    const out = outputFor(options);
    const servers = parseServerCount(options.servers);
    const stack = await startLocalStack({
      dir: resolve(options.dir),
      what: 'dev',
      port: Number(options.port),
      uiPort: Number(options.uiPort),
      sandbox: { servers },
      log: (line) => out.info(out.paint.dim(`temporal cli: ${line}`)),
    });
    const { server, codec, box } = stack;
    out.result(
      { temporalAddress: server.address, webUi: server.uiUrl, specFile: box.specFile, payloadKeys: codec.keysFile, codecServer: codec.codecServer.url, talosctl: stack.talosctl },
      (r) =>
        [
          out.paint.bold('autok8s dev is up'),
          `  Temporal:     ${r.temporalAddress}   (export TEMPORAL_ADDRESS=${r.temporalAddress})`,
          `  Web UI:       ${r.webUi}   (payloads decoded by the codec server ${r.codecServer})`,
          `  payload keys: ${r.payloadKeys}   (export AUTOK8S_PAYLOAD_KEYS=${r.payloadKeys})`,
          `  cluster spec: ${r.specFile}`,
          ...stack.talosctl.map((line) => `  ${line}`),
          `Try: autok8s bootstrap -f ${r.specFile} --wait`,
          `     autok8s sandbox hook keepalived-stop ${box.spec.servers[0].name} --dir ${dirname(r.specFile)}   # ${box.spec.servers[1].name} takes over; its notify_master moves ${box.spec.failoverIps[0]}`,
          'Ctrl-C stops everything.',
        ].join('\n'),
    );
    // A worker that fails while dev is up leaves nothing to run the workflows: say so and stop it all.
    const workerFailed = stack.running.catch((err: Error) => Promise.reject(new Error(`the worker stopped: ${err.message}`)));
    await untilSignal(() => stack.stop(), workerFailed);
  });
}
