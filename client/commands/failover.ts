import { Command } from 'commander';
import { UsageError } from '../errors';
import { startFailover } from '../start';
import { renderTimeline } from '../timeline';
import { clusterTarget, clusterTargetOptions, formatMs, outputFor, outputOption } from './common';
import { startAndFollow } from './start-and-follow';

interface FailoverOptions {
  file?: string;
  cluster?: string;
  ip: string;
  to?: string;
  reason: string;
  wait?: boolean;
  output: string;
}

export function failoverCommand(): Command {
  const command = new Command('failover')
    .description('Move an OVH failover IP to a healthy server\'s LB (joins a move already running for that IP)')
    .requiredOption('--ip <address>', 'failover IP to move (one of the spec\'s failoverIps)')
    .option('--to <server>', 'server to move it to (default: the first healthy LB in spec order)')
    .option('--reason <text>', 'why, recorded in the result', 'manual')
    .option('--wait', 'wait for the move to finish and print its timeline')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  autok8s failover -f cluster.yaml --ip 203.0.113.10 --wait',
        '  autok8s failover --cluster prod-gra --ip 203.0.113.10 --to srv-b --reason keepalived',
        '',
        'Ten triggers at once make one move: they share the workflow ID <cluster>/failover/<ip>.',
        "keepalived's notify_master uses --cluster: an LB VM holds no spec and no provider secret.",
      ].join('\n'),
    );
  clusterTargetOptions(command);
  outputOption(command);
  return command.action(async (options: FailoverOptions) => {
    const { target, spec } = clusterTarget(options);
    // With a spec at hand, refuse here what the workflow would refuse; with --cluster, the workflow does.
    if (spec && !spec.failoverIps.includes(options.ip)) {
      throw new UsageError(`--ip ${options.ip} is not in failoverIps of ${options.file} (${spec.failoverIps.join(', ')}); pass one of those`);
    }
    if (spec && options.to !== undefined && !spec.servers.some((s) => s.name === options.to)) {
      throw new UsageError(`--to ${options.to} is not a server of ${options.file}; use one of ${spec.servers.map((s) => s.name).join(', ')}`);
    }
    const out = outputFor(options);
    await startAndFollow({
      out,
      wait: options.wait,
      start: (client, taskQueue) => startFailover(client, taskQueue, target, { ip: options.ip, to: options.to, reason: options.reason }),
      title: { command: 'failover', subject: options.ip },
      what: `failover of ${options.ip}`,
      render: (r) =>
        [
          r.moved ? out.paint.green(`moved ${r.ip}: ${r.from ?? 'nowhere'} → ${r.to} in ${formatMs(r.totalMs)}`) : `${r.ip} stays on ${r.to}: ${r.why}`,
          // A noop reports a public side that does not answer instead of failing (docs/design.md §10.5).
          ...(r.serving && !r.serving.served && r.steps.some((s) => s.name === 'verify-serving' && s.status === 'done') ? [out.paint.yellow(`${r.ip} does not serve traffic: ${r.serving.detail}`)] : []),
          renderTimeline(r.steps),
        ].join('\n'),
    });
  });
}
