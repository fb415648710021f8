import { Command } from 'commander';
import { z } from 'zod';
import { clusterSpecSchema } from '../../core/spec/schema';

/** The spec's JSON Schema, for editors: `autok8s schema > cluster.schema.json`. */
export function specJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(clusterSpecSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://autok8s.dev/schema/cluster-v1alpha1.json',
    title: 'autok8s Cluster (autok8s/v1alpha1)',
  };
}

export function schemaCommand(): Command {
  return new Command('schema')
    .description('Print the JSON Schema of the cluster spec (for editor completion and CI checks)')
    .addHelpText('after', '\nExamples:\n  autok8s schema > cluster.schema.json\n  # then in cluster.yaml: # yaml-language-server: $schema=./cluster.schema.json')
    .action(() => {
      process.stdout.write(JSON.stringify(specJsonSchema(), null, 2) + '\n');
    });
}
