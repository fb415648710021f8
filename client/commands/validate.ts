import { Command } from 'commander';
import { loadSpec, outputFor, outputOption, specOption } from './common';

export function validateCommand(): Command {
  const command = new Command('validate')
    .description('Check a cluster spec (schema and cross-field rules) without starting anything')
    .addHelpText('after', '\nExamples:\n  autok8s validate -f cluster.yaml\n  autok8s validate -f cluster.yaml --output json');
  specOption(command);
  outputOption(command);
  return command.action((options: { file: string; output: string }) => {
    const spec = loadSpec(options.file);
    const out = outputFor(options);
    const summary = {
      valid: true,
      cluster: spec.metadata.name,
      servers: spec.servers.map((s) => s.name),
      controlPlanes: spec.servers.filter((s) => s.vms.controlPlane).length,
      failoverIps: spec.failoverIps,
    };
    out.result(
      summary,
      (s) => `${out.paint.green('valid')}: cluster ${s.cluster}, ${s.servers.length} servers (${s.controlPlanes} control planes), failover IPs ${s.failoverIps.join(', ')}`,
    );
  });
}
