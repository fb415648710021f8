import { Command, Option } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { workflowIds } from '../../core/workflow-ids';
import { connectClient, runUrl, temporalSettings } from '../connection';
import { rootCauseMessage } from '../failure';
import { startBootstrap } from '../start';
import { renderTimeline } from '../timeline';
import { formatMs, loadSpec, outputFor, outputOption, specOption } from './common';
import { followProgress } from './follow';

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
    const settings = temporalSettings();
    const client = await connectClient(settings);
    try {
      const started = await startBootstrap(client, settings.taskQueue, spec, { ifBusy: options.ifBusy });
      const url = runUrl(settings, started.workflowId, started.runId);
      if (!options.wait) {
        out.result({ workflowId: started.workflowId, runId: started.runId, url }, () => `started ${started.workflowId}\n  ${url}`);
        return;
      }
      out.info(`${out.paint.bold('bootstrap')} ${spec.metadata.name} — ${started.workflowId}\n  ${out.paint.dim(url)}`);
      const children = spec.servers.map((s) => ({ label: s.name, handle: client.workflow.getHandle(workflowIds.provisionServer(spec.metadata.name, s.name)) }));
      try {
        const result = await followProgress(started.handle, out, { children });
        out.result({ ...result, workflowId: started.workflowId, url }, (r) =>
          [out.paint.green(`${r.cluster}: ${r.summary.join('; ')} (${formatMs(r.totalMs)})`), `kubeconfig: ${r.kubeconfig}`, renderTimeline(r.steps)].join('\n'),
        );
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new Error(`bootstrap of ${spec.metadata.name} failed: ${rootCauseMessage(err)}\n  ${url}`);
        throw err;
      }
    } finally {
      await client.connection.close();
    }
  });
}
