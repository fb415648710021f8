import { loadSource } from '../project';
import { Command } from 'commander';
import { UsageError } from '../errors';
import { untilSignal } from '../lifecycle';
import { outputFor, outputOption } from './common';
import { auditCommand, faultCommand, faultsClearCommand, hookCommand } from './sandbox-control';

export function parseServerCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 40) throw new UsageError(`--servers ${text}: give a whole number from 1 to 40`);
  return n;
}

export function sandboxCommand(): Command {
  const sandbox = new Command('sandbox').description('The simulators (OVH API, LB hosts, ...) that stand in for real servers on this machine');
  const up = new Command('up')
    .description('Start the sandbox alone and write a ready cluster.yaml pointing at it; runs until Ctrl-C')
    .option('--dir <dir>', 'sandbox directory (CA, secrets, audit log, cluster.yaml)', '.autok8s/sandbox')
    .option('--servers <n>', 'number of simulated OVH servers', '3')
    .addHelpText('after', '\nExamples:\n  autok8s sandbox up\n  autok8s sandbox up --servers 5 --dir /tmp/ak8s');
  outputOption(up);
  up.action(async (options: { dir: string; servers: string; output: string }) => {
    const servers = parseServerCount(options.servers);
    const out = outputFor(options);
    const { startSandbox } = loadSource<typeof import('../../sandbox')>('sandbox');
    const box = await startSandbox({ dir: options.dir, servers });
    out.result(
      { specFile: box.specFile, ovhEndpoint: box.ovh.endpoint, caFile: box.ca.certFile, auditLog: `${box.dir}/audit.jsonl` },
      (r) =>
        [
          `sandbox up: ${servers} servers`,
          `  cluster spec: ${r.specFile}`,
          `  OVH API:      ${r.ovhEndpoint} (CA ${r.caFile})`,
          `  audit log:    ${r.auditLog}`,
          'Ctrl-C stops it.',
        ].join('\n'),
    );
    await untilSignal(() => box.stop());
  });
  sandbox.addCommand(up.exitOverride());
  for (const sub of [faultCommand(), faultsClearCommand(), auditCommand(), hookCommand()]) sandbox.addCommand(sub.exitOverride());
  return sandbox;
}
