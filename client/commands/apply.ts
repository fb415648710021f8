// `autok8s apply -f cluster.yaml`: hands a spec to its cluster's spec store. The file is
// validated here first (exit 2, nothing sent); the store validates again and asks a worker
// whether the spec stays inside that worker's policy (secrets, paths, endpoints). An
// accepted spec is a new generation that every later run of the cluster works with.
import { Command } from 'commander';
import { applySpec } from '../start';
import { connectClient, temporalSettings } from '../connection';
import { loadSpec, outputFor, outputOption, specOption } from './common';

export function applyCommand(): Command {
  const command = new Command('apply')
    .description("Give the cluster's spec store a new spec (validated, checked against the worker's policy, kept as a generation)")
    .option('--note <text>', 'recorded with the generation, e.g. a change ticket')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  autok8s apply -f cluster.yaml',
        '  autok8s apply -f cluster.yaml --note "CHG-1234: add srv-d"',
        '',
        'Applying the spec that is already current changes nothing and says so. Workflows started',
        'with --cluster NAME (and the health passes) use the current generation.',
      ].join('\n'),
    );
  specOption(command);
  outputOption(command);
  return command.action(async (options: { file: string; note?: string; output: string }) => {
    const spec = loadSpec(options.file);
    const out = outputFor(options);
    const settings = temporalSettings();
    const client = await connectClient(settings);
    try {
      const applied = await applySpec(client, settings.taskQueue, spec, options.note);
      out.result(applied, () =>
        applied.changed
          ? out.paint.green(`${applied.cluster}: accepted generation ${applied.generation}${applied.previous ? ` (was ${applied.previous})` : ''}`)
          : `${applied.cluster}: generation ${applied.generation} is current already; nothing changed`,
      );
    } finally {
      await client.connection.close();
    }
  });
}
