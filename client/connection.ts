// Connecting the CLI to Temporal. Same settings as the worker: the standard Temporal
// environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
// TEMPORAL_API_KEY, TEMPORAL_PROFILE; client/temporal-connection.ts), AUTOK8S_TASK_QUEUE,
// AUTOK8S_PAYLOAD_KEYS (the payload codec's keys), and TEMPORAL_UI for the links it prints.
import { Client, Connection } from '@temporalio/client';
import { payloadDataConverter } from '../codec/data-converter';
import { TASK_QUEUE } from '../core/workflow-ids';
import { temporalConnection, type TemporalConnection } from './temporal-connection';
import { cannotReachTemporal } from './tls-probe';

export interface TemporalSettings {
  connection: TemporalConnection;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const connection = temporalConnection(env);
  return {
    connection,
    namespace: connection.namespace,
    taskQueue: env.AUTOK8S_TASK_QUEUE ?? TASK_QUEUE,
    uiUrl: (env.TEMPORAL_UI ?? 'http://localhost:8233').replace(/\/$/, ''),
  };
}

/** Opens a client connection as the settings say (TLS, client certificate, API key). */
export function openConnection(connection: TemporalConnection, connectTimeoutMs = 5000): Promise<Connection> {
  return Connection.connect({ ...connection.options, connectTimeout: connectTimeoutMs });
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  // Before connecting: a keyring that cannot be used is bad input (exit 2), and nothing starts.
  const dataConverter = payloadDataConverter();
  let connection: Connection;
  try {
    connection = await openConnection(settings.connection);
  } catch (err) {
    throw await cannotReachTemporal(settings.connection, err, 'start one with `autok8s dev`, or check TEMPORAL_ADDRESS and the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings');
  }
  return new Client({ connection, namespace: settings.namespace, dataConverter });
}

/** Link to one run in the Temporal Web UI. */
export function runUrl(settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}
