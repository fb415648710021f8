import { Command, Option } from 'commander';
import { workflowIds } from '../../core/workflow-ids';
import { startBootstrap } from '../start';
import { renderTimeline } from '../timeline';
import { clusterTarget, clusterTargetOptions, formatMs, outputFor, outputOption } from './common';
import { startAndFollow } from './start-and-follow';

export function bootstrapCommand(): Command {
  const command = new Command('bootstrap')
    .description('Bootstrap the cluster: vRack, VMs, Talos, etcd (once), workers, LB configs, failover IPs, kubeconfig')
    .option('--wait', 'follow progress (per server, per step) until it finishes')
    .addOption(new Option('--if-busy <what>', 'when another bootstrap/replace holds the cluster').choices(['wait', 'fail']).default('wait'))
    .addHelpText(
      'after',
      '\nExamples:\n  autok8s bootstrap -f cluster.yaml --wait\n  autok8s bootstrap --cluster prod-gra --if-busy fail\n\nRe-running it on a bootstrapped cluster changes nothing and says so.',
    );
  clusterTargetOptions(command);
  outputOption(command);
  return command.action(async (options: { file?: string; cluster?: string; wait?: boolean; ifBusy: 'wait' | 'fail'; output: string }) => {
    const { target, cluster, spec } = clusterTarget(options);
    const out = outputFor(options);
    await startAndFollow({
      out,
      wait: options.wait,
      start: (client, taskQueue) => startBootstrap(client, taskQueue, target, { ifBusy: options.ifBusy }),
      title: { command: 'bootstrap', subject: cluster },
      what: `bootstrap of ${cluster}`,
      children: (client) => (spec?.servers ?? []).map((s) => ({ label: s.name, handle: client.workflow.getHandle(workflowIds.provisionServer(cluster, s.name)) })),
      render: (r) => [out.paint.green(`${r.cluster}: ${r.summary.join('; ')} (${formatMs(r.totalMs)})`), `kubeconfig: ${r.kubeconfig}`, renderTimeline(r.steps)].join('\n'),
    });
  });
}
