// Secret scanning for the "no secrets in histories" invariant: every credential the
// sandbox handed out, and the key material of the Talos secrets bundle, as plain strings.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Sandbox } from '../../sandbox';

export interface NamedSecret {
  name: string;
  value: string;
}

/** Long leaf strings of a YAML/PEM text: the values that would betray a leak. */
function keyMaterial(text: string): string[] {
  return text
    .split(/\s+/)
    .map((t) => t.replace(/^["']|["'],?$/g, ''))
    .filter((t) => t.length >= 24 && /^[A-Za-z0-9+/=_.-]+$/.test(t) && !/^(https?|sha256):/.test(t));
}

export function secretsOf(box: Sandbox): NamedSecret[] {
  const secrets: NamedSecret[] = [];
  const dir = join(box.dir, 'secrets');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (file === 'ssh-key') keyMaterial(text).forEach((v, i) => secrets.push({ name: `ssh private key part ${i}`, value: v }));
    else secrets.push({ name: file, value: text.trim() });
  }
  const stateDir = box.spec.state.dir!;
  const talosSecrets = join(stateDir, 'secrets.yaml');
  if (existsSync(talosSecrets)) keyMaterial(readFileSync(talosSecrets, 'utf8')).forEach((v, i) => secrets.push({ name: `talos secrets.yaml value ${i}`, value: v }));
  return secrets.filter((s) => s.value.length >= 8);
}

/** Every history of the cluster's workflows, as the JSON the server returns. */
export async function collectHistories(client: Client, cluster: string): Promise<{ workflowId: string; json: string }[]> {
  const out: { workflowId: string; json: string }[] = [];
  for await (const execution of client.workflow.list({ query: `AutoK8sCluster = "${cluster}"` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    // Payloads are base64 in the proto; decode them so a secret inside JSON data is visible.
    const decoded = JSON.stringify(history, (_key, value) =>
      value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data) ? Buffer.from(value.data).toString('utf8') : value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value,
    );
    out.push({ workflowId: execution.workflowId, json: decoded });
  }
  return out;
}
