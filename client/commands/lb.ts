// `autok8s lb link up|down`: set an LB VM's public NIC link (Proxmox net1 link_down), what
// keepalived's notify scripts run on the LB VMs (core/render/keepalived.ts lbLinkCommand).
import { Argument, Command } from 'commander';
import { intentProblem } from '../../core/intents';
import { publicPathOf } from '../../core/public-path/modes';
import { UsageError } from '../errors';
import { startLbLink } from '../start';
import { renderTimeline } from '../timeline';
import { clusterTarget, clusterTargetOptions, formatMs, outputFor, outputOption } from './common';
import { startAndFollow } from './start-and-follow';

interface LinkOptions {
  file?: string;
  cluster?: string;
  server: string;
  reason?: string;
  wait?: boolean;
  output: string;
}

function linkCommand(): Command {
  const command = new Command('link')
    .description("Bring an LB VM's public NIC (Proxmox net1) up or down; the last request made wins")
    .addArgument(new Argument('<state>', 'up or down').choices(['up', 'down']))
    .requiredOption('--server <name>', 'server whose LB VM it is')
    .option('--reason <text>', 'why, recorded in the result (default: manual)')
    .option('--wait', 'wait until the link is in the state asked for last, and print the timeline')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  autok8s lb link up --cluster prod-gra --server srv-b',
        '  autok8s lb link down -f cluster.yaml --server srv-a --reason maintenance --wait',
        '',
        "keepalived runs it on the LB VMs: up in notify_master, down in notify_backup/fault/stop.",
        'Triggers for one server share the workflow <cluster>/lb-link/<server>: a trigger while it',
        'runs joins it, and the link ends in the state of the trigger made last (by its start time).',
      ].join('\n'),
    );
  clusterTargetOptions(command);
  outputOption(command);
  return command.exitOverride().action(async (state: 'up' | 'down', options: LinkOptions) => {
    // Stamped first: keepalived forks one process per transition, and they may reach Temporal out of order.
    const at = Date.now();
    const { target, cluster, spec } = clusterTarget(options);
    const request = { state, at, ...(options.reason !== undefined ? { reason: options.reason } : {}) };
    const problem = intentProblem('lbLink', { cluster, server: options.server, ...request });
    if (problem !== undefined) throw new UsageError(problem.replace(/^bad input to lbLink: /, '').replace(/(^|; )(server|reason):/g, '$1--$2'));
    // With a spec at hand, refuse here what the workflow would refuse; with --cluster, the workflow does.
    if (spec) {
      const server = spec.servers.find((s) => s.name === options.server);
      if (!server) throw new UsageError(`--server ${options.server} is not a server of ${options.file}; use one of ${spec.servers.map((s) => s.name).join(', ')}`);
      if (!server.vms.lb) throw new UsageError(`--server ${options.server} has no LB VM in ${options.file} (vms.lb)`);
      if (publicPathOf(spec).mode === 'vrack-block') throw new UsageError(`publicPath.mode of ${options.file} is vrack-block: the LB VMs have no public NIC, so no link to set`);
    }
    const out = outputFor(options);
    await startAndFollow({
      out,
      wait: options.wait,
      start: (client, taskQueue) => startLbLink(client, taskQueue, target, { server: options.server, ...request }),
      title: { command: `lb link ${state}`, subject: options.server },
      what: `lb link ${state} of ${options.server}`,
      render: (r) =>
        [
          r.changes.length > 0 ? out.paint.green(`${r.server}: public link ${r.state} in ${formatMs(r.totalMs)}`) : `${r.server}: public link already ${r.state}`,
          renderTimeline(r.steps),
        ].join('\n'),
    });
  });
}

export function lbCommand(): Command {
  return new Command('lb').description("The LB VMs' public path (docs/design.md §10)").addCommand(linkCommand());
}
