import { Command, Option } from 'commander';
import type { VmRole } from '../../core/spec/schema';
import { UsageError } from '../errors';
import { startReplace } from '../start';
import { renderTimeline } from '../timeline';
import { clusterTarget, clusterTargetOptions, formatMs, outputFor, outputOption } from './common';
import { startAndFollow } from './start-and-follow';

const ROLES: Record<string, VmRole> = { lb: 'lb', 'control-plane': 'controlPlane', controlPlane: 'controlPlane', cp: 'controlPlane', worker: 'worker' };

export function replaceCommand(): Command {
  const command = new Command('replace')
    .description('Rebuild one VM (control plane, worker or LB) safely: quorum guard, etcd member removal, recreate, rejoin')
    .requiredOption('--server <name>', 'server whose VM to rebuild')
    .requiredOption('--role <role>', 'lb, control-plane or worker')
    .option('--reason <text>', 'why, recorded in the result', 'manual')
    .option('--wait', 'follow progress until it finishes')
    .addOption(new Option('--if-busy <what>', 'when another bootstrap/replace holds the cluster').choices(['wait', 'fail']).default('wait'))
    .addHelpText('after', '\nExamples:\n  autok8s replace -f cluster.yaml --server srv-b --role worker --wait\n  autok8s replace --cluster prod-gra --server srv-c --role control-plane --if-busy fail');
  clusterTargetOptions(command);
  outputOption(command);
  return command.action(async (options: { file?: string; cluster?: string; server: string; role: string; reason: string; wait?: boolean; ifBusy: 'wait' | 'fail'; output: string }) => {
    const { target, spec } = clusterTarget(options);
    const role = ROLES[options.role];
    if (!role) throw new UsageError(`--role ${options.role}: use lb, control-plane or worker`);
    // With a spec at hand, refuse here what the workflow would refuse; with --cluster, the workflow does.
    if (spec) {
      const server = spec.servers.find((s) => s.name === options.server);
      if (!server) throw new UsageError(`--server ${options.server} is not a server of ${options.file}; use one of ${spec.servers.map((s) => s.name).join(', ')}`);
      if (!server.vms[role]) throw new UsageError(`--server ${options.server} has no ${options.role} VM in ${options.file}`);
    }
    const out = outputFor(options);
    await startAndFollow({
      out,
      wait: options.wait,
      start: (client, taskQueue) => startReplace(client, taskQueue, target, { server: options.server, role, reason: options.reason, ifBusy: options.ifBusy }),
      title: { command: 'replace', subject: `${options.server}/${options.role}` },
      what: `replacing ${options.server}/${options.role}`,
      render: (r) => [out.paint.green(`${r.server}/${r.role} rebuilt as VM ${r.newVmid} in ${formatMs(r.totalMs)}`), renderTimeline(r.steps)].join('\n'),
    });
  });
}
