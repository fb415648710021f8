import { Command } from 'commander';
import { planBootstrap } from '../../core/plan/bootstrap-plan';
import { SpecError } from '../../core/spec/spec-error';
import { loadSource } from '../project';
import { loadSpec, outputFor, outputOption, specOption } from './common';

export function planCommand(): Command {
  const command = new Command('plan')
    .description('Dry run of bootstrap: what would be created or changed, without changing anything')
    .addHelpText('after', '\nExamples:\n  autok8s plan -f cluster.yaml\n  autok8s plan -f cluster.yaml --output json');
  specOption(command);
  outputOption(command);
  return command.action(async (o: { file: string; output: string }) => {
    const spec = loadSpec(o.file);
    const { observeCluster } = loadSource<typeof import('../observe-cluster')>('client/observe-cluster');
    const { publicPathFactProblems } = loadSource<typeof import('../public-path-facts')>('client/public-path-facts');
    // A public path the servers cannot carry is bad input, as bootstrap's first step would find: exit 2.
    const facts = await publicPathFactProblems(spec);
    if ('problems' in facts && facts.problems.length > 0) throw new SpecError(`${o.file} (against OVH's description of its servers)`, facts.problems);
    const plan = planBootstrap(spec, await observeCluster(spec));
    if ('unreadable' in facts) plan.unknown.push(`public path: the servers' network facts could not be read from OVH (${facts.unreadable})`);
    const out = outputFor(o);
    out.result(plan, (p: typeof plan) =>
      [
        p.changes.length === 0 ? out.paint.green('no changes: the cluster matches the spec') : out.paint.bold(`${p.changes.length} change(s) a bootstrap would make:`),
        ...p.changes.map((c) => `  + ${c.target.padEnd(22)} ${c.change}`),
        ...p.conflicts.map((c) => out.paint.red(`  ! ${c}`)),
        ...p.unknown.map((u) => out.paint.yellow(`  ? ${u}`)),
        ...p.checks.map((c) => out.paint.yellow(`  check on the host: ${c}`)),
      ].join('\n'),
    );
    if (plan.conflicts.length > 0) process.exitCode = 1;
  });
}
