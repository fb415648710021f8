import { Command, Option } from 'commander';
import { workflowIds } from '../../core/workflow-ids';
import { startBootstrap } from '../start';
import { renderTimeline } from '../timeline';
import { formatMs, loadSpec, outputFor, outputOption, specOption } from './common';
import { startAndFollow } from './start-and-follow';

export function bootstrapCommand(): Command {
  const command = new Command('bootstrap')
    .description('Bootstrap the cluster: vRack, VMs, Talos, etcd (once), workers, LB configs, failover IPs, kubeconfig')
    .option('--wait', 'follow progress (per server, per step) until it finishes')
    .addOption(new Option('--if-busy <what>', 'when another bootstrap/replace holds the cluster').choices(['wait', 'fail']).default('wait'))
    .addHelpText(
      'after',
      '\nExamples:\n  autok8s bootstrap -f cluster.yaml --wait\n  autok8s bootstrap -f cluster.yaml --if-busy fail\n\nRe-running it on a bootstrapped cluster changes nothing and says so.',
    );
  specOption(command);
  outputOption(command);
  return command.action(async (options: { file: string; wait?: boolean; ifBusy: 'wait' | 'fail'; output: string }) => {
    const spec = loadSpec(options.file);
    const out = outputFor(options);
    await startAndFollow({
      out,
      wait: options.wait,
      start: (client, taskQueue) => startBootstrap(client, taskQueue, spec, { ifBusy: options.ifBusy }),
      title: { command: 'bootstrap', subject: spec.metadata.name },
      what: `bootstrap of ${spec.metadata.name}`,
      children: (client) => spec.servers.map((s) => ({ label: s.name, handle: client.workflow.getHandle(workflowIds.provisionServer(spec.metadata.name, s.name)) })),
      render: (r) => [out.paint.green(`${r.cluster}: ${r.summary.join('; ')} (${formatMs(r.totalMs)})`), `kubeconfig: ${r.kubeconfig}`, renderTimeline(r.steps)].join('\n'),
    });
  });
}
