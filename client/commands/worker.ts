import { loadSource } from '../project';
import { Command } from 'commander';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run an autok8s worker (scale horizontally: every worker polls the same task queue)')
    .addHelpText(
      'after',
      '\nEnvironment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), AUTOK8S_TASK_QUEUE (autok8s),\nand the secrets the specs reference (env:NAME).\n\nExample:\n  TEMPORAL_ADDRESS=temporal:7233 autok8s worker',
    )
    .action(async () => {
      // Loaded on use: the worker pulls in the native bridge and the bundler, which other commands never need.
      const { runWorker } = loadSource<typeof import('../../worker/main')>('worker/main');
      await runWorker();
    });
}
