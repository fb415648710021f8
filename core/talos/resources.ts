// Parsing `talosctl get <resource> -o json`. talosctl prints one indented JSON object per
// resource and node, back to back, NOT a JSON array:
//
//   {
//       "metadata": { "id": "srv-a-cp", "namespace": "cluster", ... },
//       "node": "10.10.0.61",
//       "spec": { "hostname": "srv-a-cp", "machineType": "controlplane", ... }
//   }
//   {
//       ...
//   }
import { TalosOutputError } from './etcd-members';

/**
 * Splits a stream of concatenated JSON values and parses each. Hand-written because
 * JSON.parse takes exactly one value and a streaming JSON library would be a dependency
 * for twenty lines: the scanner only tracks string and nesting boundaries.
 */
export function parseJsonStream(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      if (depth === 0) throw new TalosOutputError('JSON stream', `a bare string at offset ${i}; expected objects`);
    } else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (ch === '}' || ch === ']') {
      depth -= 1;
      if (depth < 0) throw new TalosOutputError('JSON stream', `unbalanced ${ch} at offset ${i}`);
      if (depth === 0) {
        const chunk = text.slice(start, i + 1);
        try {
          values.push(JSON.parse(chunk));
        } catch (err) {
          throw new TalosOutputError('JSON stream', `${(err as Error).message} in ${JSON.stringify(chunk.slice(0, 80))}`);
        }
      }
    } else if (depth === 0 && !/\s/.test(ch)) {
      throw new TalosOutputError('JSON stream', `unexpected ${JSON.stringify(ch)} at offset ${i} between objects`);
    }
  }
  if (depth !== 0 || inString) throw new TalosOutputError('JSON stream', 'truncated: the last object is not closed');
  return values;
}

type Json = Record<string, unknown>;

function asObject(value: unknown, what: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TalosOutputError(what, `expected an object, got ${JSON.stringify(value)?.slice(0, 60)}`);
  return value as Json;
}

function str(obj: Json, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new TalosOutputError(what, `field ${key} is ${JSON.stringify(v)}, expected a string`);
  return v;
}

/** One cluster member as discovery sees it (`talosctl get members`). */
export interface TalosMember {
  /** The node that answered. */
  node: string;
  /** Resource ID: the member's hostname. */
  id: string;
  nodeId: string;
  hostname: string;
  machineType: string;
  addresses: string[];
  operatingSystem: string;
}

export function parseGetMembers(stdout: string): TalosMember[] {
  return parseJsonStream(stdout).map((value) => {
    const what = 'talosctl get members';
    const obj = asObject(value, what);
    const metadata = asObject(obj.metadata, what);
    const spec = asObject(obj.spec, what);
    const addresses = spec.addresses ?? [];
    if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string')) throw new TalosOutputError(what, 'spec.addresses is not a list of strings');
    return {
      node: typeof obj.node === 'string' ? obj.node : '',
      id: str(metadata, 'id', what),
      nodeId: typeof spec.nodeId === 'string' ? spec.nodeId : '',
      hostname: str(spec, 'hostname', what),
      machineType: str(spec, 'machineType', what),
      addresses: addresses as string[],
      operatingSystem: typeof spec.operatingSystem === 'string' ? spec.operatingSystem : '',
    };
  });
}

/** A node's boot stage and readiness (`talosctl get machinestatus`). */
export interface TalosMachineStatus {
  node: string;
  /** booting, installing, maintenance, running, rebooting, shutting down, resetting, upgrading, unknown. */
  stage: string;
  ready: boolean;
  unmetConditions: { name: string; reason: string }[];
}

export function parseMachineStatus(stdout: string): TalosMachineStatus[] {
  return parseJsonStream(stdout).map((value) => {
    const what = 'talosctl get machinestatus';
    const obj = asObject(value, what);
    const spec = asObject(obj.spec, what);
    const status = asObject(spec.status ?? {}, what);
    const unmet = Array.isArray(status.unmetConditions) ? status.unmetConditions : [];
    return {
      node: typeof obj.node === 'string' ? obj.node : '',
      stage: str(spec, 'stage', what),
      ready: status.ready === true,
      unmetConditions: unmet.map((c) => {
        const cond = asObject(c, what);
        return { name: String(cond.name ?? ''), reason: String(cond.reason ?? '') };
      }),
    };
  });
}
