// Options and helpers shared by the commands: the spec flag, the output flag, Temporal settings.
import { Option, type Command } from 'commander';
import { GRAMMAR } from '../../core/spec/grammar';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { UsageError } from '../errors';
import { createOutput, type Output, type OutputFormat } from '../output';

export function specOption(command: Command): Command {
  return command.requiredOption('-f, --file <cluster.yaml>', 'cluster spec file');
}

/** `-f cluster.yaml` (applied to the cluster's spec store first) or `--cluster NAME` (its store already has the spec). */
export function clusterTargetOptions(command: Command): Command {
  return command
    .option('-f, --file <cluster.yaml>', "cluster spec file: validated here, applied to the cluster's spec store, then the run uses it")
    .option('-c, --cluster <name>', 'a cluster whose spec store already holds its spec (autok8s apply); the trigger then carries the name only');
}

export interface ClusterTargetChoice {
  /** What start functions take: the spec to apply, or the cluster's name. */
  target: ClusterSpec | string;
  cluster: string;
  /** The spec, when it was given (for checks before anything starts). */
  spec?: ClusterSpec;
}

/** The cluster a command acts on; exactly one of -f and --cluster, or exit 2. */
export function clusterTarget(options: { file?: string; cluster?: string }): ClusterTargetChoice {
  if (options.file !== undefined && options.cluster !== undefined) throw new UsageError('give -f FILE or --cluster NAME, not both');
  if (options.file !== undefined) {
    const spec = loadSpec(options.file);
    return { target: spec, cluster: spec.metadata.name, spec };
  }
  if (options.cluster !== undefined) {
    if (!GRAMMAR.dnsLabel.test(options.cluster)) throw new UsageError(`--cluster ${JSON.stringify(options.cluster)}: must be a cluster name, ${GRAMMAR.dnsLabel.expected}`);
    return { target: options.cluster, cluster: options.cluster };
  }
  throw new UsageError('which cluster? give -f cluster.yaml, or --cluster NAME for a cluster whose spec was applied (autok8s apply -f cluster.yaml)');
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
