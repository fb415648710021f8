import { loadSource } from '../project';
import { Command } from 'commander';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run an autok8s worker (scale horizontally: every worker polls the same task queue)')
    .addHelpText(
      'after',
      '\nEnvironment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), AUTOK8S_TASK_QUEUE (autok8s),\n' +
        'AUTOK8S_PAYLOAD_KEYS, AUTOK8S_DEPLOYMENT_NAME (autok8s), AUTOK8S_BUILD_ID (<package version>+<git commit>),\n' +
        'and the secrets the specs reference (env:NAME).\n\n' +
        'The worker is one version of a Temporal Worker Deployment. It makes itself the current version when the\n' +
        'deployment has none; a later build takes new runs once you make it current (README, "Changing a workflow"):\n' +
        '  temporal worker deployment set-current-version --deployment-name autok8s --build-id <build ID> --yes\n\n' +
        'Example:\n  TEMPORAL_ADDRESS=temporal:7233 autok8s worker',
    )
    .action(async () => {
      // Loaded on use: the worker pulls in the native bridge and the bundler, which other commands never need.
      const { runWorker } = loadSource<typeof import('../../worker/main')>('worker/main');
      await runWorker();
    });
}
