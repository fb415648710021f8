// Options and helpers shared by the commands: the spec flag, the output flag, Temporal settings.
import { Option, type Command } from 'commander';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { createOutput, type Output, type OutputFormat } from '../output';

export function specOption(command: Command): Command {
  return command.requiredOption('-f, --file <cluster.yaml>', 'cluster spec file');
}

export function outputOption(command: Command): Command {
  return command.addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}

export function outputFor(options: { output?: string }): Output {
  return createOutput((options.output ?? 'text') as OutputFormat);
}

/** Loads and validates the spec; a SpecError propagates and the CLI exits 2 before anything starts. */
export function loadSpec(file: string): ClusterSpec {
  return loadSpecFile(file);
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
