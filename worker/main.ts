// `autok8s worker` and the worker process the tests SIGKILL: runs until SIGINT/SIGTERM.
// Configuration from the environment: the standard Temporal connection settings (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY, TEMPORAL_PROFILE; client/temporal-connection.ts),
// AUTOK8S_TASK_QUEUE, AUTOK8S_PAYLOAD_KEYS (the payload codec's keyring; without it payloads are
// stored in clear) and AUTOK8S_ACCEPT_PLAINTEXT_INPUTS (codec/data-converter.ts),
// AUTOK8S_DEPLOYMENT_NAME and AUTOK8S_BUILD_ID (its Worker Deployment Version, worker/deployment.ts),
// and its policy for specs: AUTOK8S_SECRET_ENV_PREFIXES, AUTOK8S_SPEC_PATH_ROOTS, AUTOK8S_OVH_ENDPOINTS,
// AUTOK8S_NODE_NETWORK
// (core/spec/worker-policy.ts).
import { TASK_QUEUE } from '../core/workflow-ids';
import { createSecretResolver } from '../activities/secrets';
import { policyFromEnv } from '../core/spec/worker-policy';
import { describePayloadProtection, payloadDataConverter } from '../codec/data-converter';
import { temporalConnection } from '../client/temporal-connection';
import { describeCurrentVersion } from './current-version';
import { createWorker } from './worker';

export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const connection = temporalConnection(env);
  const taskQueue = env.AUTOK8S_TASK_QUEUE ?? TASK_QUEUE;
  const dataConverter = payloadDataConverter(env);
  const policy = policyFromEnv(env);
  const { worker, deployment, current, close: closeWorker } = await createWorker({
    connection,
    taskQueue,
    dataConverter,
    deps: {
      policy,
      secrets: createSecretResolver(env, policy),
      pollIntervalMs: env.AUTOK8S_POLL_INTERVAL_MS ? Number(env.AUTOK8S_POLL_INTERVAL_MS) : undefined,
    },
  });
  console.log(
    `autok8s worker polling task queue ${taskQueue} on ${connection.options.address} (namespace ${connection.namespace}, ${connection.security}); ${describeCurrentVersion(deployment, current)}; ${describePayloadProtection(dataConverter)}`,
  );
  if (!deployment.commitKnown) {
    console.warn(`autok8s worker: no git commit known, so the build ID is the package version alone and a workflow change would not get a new one: set AUTOK8S_BUILD_ID (README, "Changing a workflow")`);
  }
  try {
    await worker.run(); // the SDK shuts down gracefully on SIGINT/SIGTERM
  } finally {
    await closeWorker();
  }
}

if (require.main === module) {
  runWorker().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
