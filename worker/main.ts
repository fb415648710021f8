// `autok8s worker` and the worker process the tests SIGKILL: runs until SIGINT/SIGTERM.
// Configuration from the environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, AUTOK8S_TASK_QUEUE,
// AUTOK8S_PAYLOAD_KEYS (the payload codec's keyring; without it payloads are stored in clear),
// AUTOK8S_DEPLOYMENT_NAME and AUTOK8S_BUILD_ID (its Worker Deployment Version, worker/deployment.ts).
import { TASK_QUEUE } from '../core/workflow-ids';
import { createSecretResolver } from '../activities/secrets';
import { policyFromEnv } from '../core/spec/worker-policy';
import { describePayloadProtection, payloadDataConverter } from '../codec/data-converter';
import { describeCurrentVersion } from './current-version';
import { createWorker } from './worker';

export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const address = env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const taskQueue = env.AUTOK8S_TASK_QUEUE ?? TASK_QUEUE;
  const dataConverter = payloadDataConverter(env);
  const { worker, deployment, current, close: closeWorker } = await createWorker({
    address,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    dataConverter,
    deps: {
      policy: policyFromEnv(env),
      secrets: createSecretResolver(env, policyFromEnv(env)),
      pollIntervalMs: env.AUTOK8S_POLL_INTERVAL_MS ? Number(env.AUTOK8S_POLL_INTERVAL_MS) : undefined,
    },
  });
  console.log(`autok8s worker polling task queue ${taskQueue} on ${address}; ${describeCurrentVersion(deployment, current)}; ${describePayloadProtection(dataConverter)}`);
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
