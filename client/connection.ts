// Connecting the CLI to Temporal. Same settings as the worker: TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, AUTOK8S_TASK_QUEUE, AUTOK8S_PAYLOAD_KEYS (the payload codec's keys),
// and TEMPORAL_UI for the links it prints.
import { Client, Connection } from '@temporalio/client';
import { payloadDataConverter } from '../codec/data-converter';
import { TASK_QUEUE } from '../core/workflow-ids';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.AUTOK8S_TASK_QUEUE ?? TASK_QUEUE,
    uiUrl: (env.TEMPORAL_UI ?? 'http://localhost:8233').replace(/\/$/, ''),
  };
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  // Before connecting: a keyring that cannot be used is bad input (exit 2), and nothing starts.
  const dataConverter = payloadDataConverter();
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${settings.address} (${(err as Error).message}); start one with \`autok8s dev\` or set TEMPORAL_ADDRESS`,
    );
  }
  return new Client({ connection, namespace: settings.namespace, dataConverter });
}

/** Link to one run in the Temporal Web UI. */
export function runUrl(settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}
