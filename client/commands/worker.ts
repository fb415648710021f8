import { loadSource } from '../project';
import { Command } from 'commander';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run an autok8s worker (scale horizontally: every worker polls the same task queue)')
    .addHelpText(
      'after',
      [
        '',
        'Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), AUTOK8S_TASK_QUEUE (autok8s),',
        'TLS and API keys as the temporal CLI reads them: TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH,',
        'TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY, or a TEMPORAL_PROFILE of temporal.toml;',
        'AUTOK8S_PAYLOAD_KEYS (encrypt payloads; plaintext inputs are then refused unless AUTOK8S_ACCEPT_PLAINTEXT_INPUTS=1),',
        'AUTOK8S_DEPLOYMENT_NAME (autok8s), AUTOK8S_BUILD_ID (<package version>+<git commit>),',
        'what specs may reach: AUTOK8S_SECRET_ENV_PREFIXES, AUTOK8S_SPEC_PATH_ROOTS, AUTOK8S_OVH_ENDPOINTS, AUTOK8S_NODE_NETWORK,',
        'and the secrets the specs reference (env:NAME).',
        '',
        'The worker is one version of a Temporal Worker Deployment. It makes itself the current version when the',
        'deployment has none; a later build takes new runs once you make it current (README, "Changing a workflow"):',
        '  temporal worker deployment set-current-version --deployment-name autok8s --build-id <build ID> --yes',
        '',
        'Example:',
        '  TEMPORAL_ADDRESS=temporal:7233 TEMPORAL_TLS_SERVER_CA_CERT_PATH=/etc/autok8s/temporal-ca.pem autok8s worker',
      ].join('\n'),
    )
    .action(async () => {
      // Loaded on use: the worker pulls in the native bridge and the bundler, which other commands never need.
      const { runWorker } = loadSource<typeof import('../../worker/main')>('worker/main');
      await runWorker();
    });
}
