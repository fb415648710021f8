// A small client of the Talos API for machines without the real talosctl: one node state
// machine call (protocol.ts TalosCall) made over the wire exactly as talosctl makes it —
// TLS without verification and no client certificate for the maintenance API, the
// talosconfig's CA and client certificate otherwise, `nodes` metadata through the endpoint
// (`node` for COSI) — and the answer read back into the simulator's result shapes. This is
// the transport the talosctl stand-in is to use instead of its loopback HTTP call.
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { parse } from 'yaml';
import type { EtcdMemberView, ResourceView, TalosAnswer, TalosCall, TalosResults } from '../protocol';
import { dialFailure, TALOS_API_PORT, UNKNOWN_AUTHORITY } from '../wording';
import { normalizeKeyPem } from './certs';
import { DEFAULT_TALOS_API_VERSION, loadTalosApi } from './descriptors';
import { GRPC_CODES, memberIdHex, type GrpcCodeName } from './messages';

type CallBody = TalosCall extends infer C ? (C extends TalosCall ? Omit<C, 'endpoint' | 'node' | 'auth'> : never) : never;

export interface TalosApiTarget {
  /** The address dialed (talosctl -e; the node itself for the maintenance API). */
  endpoint: string;
  /** The node the call is for (talosctl -n). */
  node: string;
  /** The talosconfig context's PEM texts; absent for the maintenance API (--insecure). */
  credentials?: { caPem: string; crtPem: string; keyPem: string };
  port?: number;
  timeoutMs?: number;
}

let root: GrpcObject | undefined;
function service(name: string): ServiceClientConstructor {
  root ??= grpc.loadPackageDefinition(loadTalosApi(DEFAULT_TALOS_API_VERSION));
  return name.split('.').reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], root) as ServiceClientConstructor;
}

const CODE_NAMES = Object.fromEntries(Object.entries(GRPC_CODES).map(([name, code]) => [code, name])) as Record<number, GrpcCodeName>;

/** COSI resource types by the names autok8s passes to `get` (talosctl resolves them through ResourceDefinitions). */
const RESOURCES: Record<string, { namespace: string; type: string }> = {
  machinestatus: { namespace: 'runtime', type: 'MachineStatuses.runtime.talos.dev' },
  members: { namespace: 'cluster', type: 'Members.cluster.talos.dev' },
};

type Json = Record<string, unknown>;

class NodeFailure extends Error {}

export async function callTalosApi(target: TalosApiTarget, body: CallBody): Promise<TalosAnswer> {
  const address = `${target.endpoint}:${target.port ?? TALOS_API_PORT}`;
  const creds = target.credentials
    ? grpc.credentials.createSsl(Buffer.from(target.credentials.caPem), Buffer.from(normalizeKeyPem(target.credentials.keyPem)), Buffer.from(target.credentials.crtPem))
    : grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false });
  const deadline = Date.now() + (target.timeoutMs ?? 60_000);
  const metadata = (cosi: boolean) => {
    const md = new grpc.Metadata();
    if (target.credentials) md.set(cosi ? 'node' : 'nodes', target.node);
    return md;
  };
  const clients: grpc.Client[] = [];
  const client = (name: string) => {
    const Ctor = service(name);
    const c = new Ctor(address, creds);
    clients.push(c);
    return c as unknown as Record<string, (...args: unknown[]) => unknown>;
  };
  const unary = (svc: string, method: string, request: Json) =>
    new Promise<Json>((resolve, reject) => {
      const c = client(svc);
      c[method].call(c, request, metadata(false), { deadline }, (err: grpc.ServiceError | null, reply: Json) => (err ? reject(err) : resolve(reply)));
    });
  /** The node's message of a one-to-many answer; its metadata.error is the node's failure. */
  const first = (reply: Json): Json => {
    const m = ((reply.messages as Json[]) ?? [])[0] ?? {};
    const error = (m.metadata as { error?: string } | undefined)?.error;
    if (error) throw new NodeFailure(error);
    return m;
  };
  const stream = (svc: string, method: string, request: Json, cosi = false) =>
    new Promise<Json[]>((resolve, reject) => {
      const c = client(svc);
      const call = c[method].call(c, request, metadata(cosi), { deadline }) as grpc.ClientReadableStream<Json>;
      const out: Json[] = [];
      call.on('data', (m: Json) => out.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
  /** A stream's messages and how it ended (a failed stream keeps what it sent before). */
  const streamSettled = (svc: string, method: string, request: Json) =>
    new Promise<{ messages: Json[]; error?: grpc.ServiceError }>((resolve) => {
      const c = client(svc);
      const call = c[method].call(c, request, metadata(false), { deadline }) as grpc.ClientReadableStream<Json>;
      const messages: Json[] = [];
      call.on('data', (m: Json) => messages.push(m));
      call.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
      call.on('end', () => resolve({ messages }));
    });
  const bytesOf = (messages: Json[]) => {
    for (const m of messages) {
      const error = (m.metadata as { error?: string } | undefined)?.error;
      if (error) throw new NodeFailure(error);
    }
    return Buffer.concat(messages.map((m) => (m.bytes as Buffer | undefined) ?? Buffer.alloc(0)));
  };

  try {
    const result = await (async (): Promise<unknown> => {
      const M = 'machine.MachineService';
      switch (body.op) {
        case 'applyConfiguration': {
          const m = first(await unary(M, 'ApplyConfiguration', { data: Buffer.from(body.configText), mode: body.mode.toUpperCase().replace(/-/g, '_'), dry_run: body.dryRun }));
          return { modeDetails: String(m.mode_details ?? '') } satisfies TalosResults['applyConfiguration'];
        }
        case 'bootstrap':
          first(await unary(M, 'Bootstrap', {}));
          return {};
        case 'etcdMemberList': {
          const m = first(await unary(M, 'EtcdMemberList', {}));
          const members = ((m.members as Json[]) ?? []).map(
            (e): EtcdMemberView => ({ id: memberIdHex(String(e.id)), hostname: String(e.hostname), peerUrls: e.peer_urls as string[], clientUrls: e.client_urls as string[], learner: Boolean(e.is_learner) }),
          );
          return { members } satisfies TalosResults['etcdMemberList'];
        }
        case 'etcdRemoveMemberById':
          first(await unary(M, 'EtcdRemoveMemberByID', { member_id: BigInt(`0x${body.memberId}`).toString() }));
          return {};
        case 'etcdLeaveCluster':
          first(await unary(M, 'EtcdLeaveCluster', {}));
          return {};
        case 'version': {
          const v = (first(await unary(M, 'Version', {})).version ?? {}) as { tag?: string; sha?: string };
          return { tag: v.tag ?? '', sha: v.sha ?? '' } satisfies TalosResults['version'];
        }
        case 'reset':
          first(await unary(M, 'Reset', { graceful: body.graceful, reboot: body.reboot }));
          return { readyInMs: 0 } satisfies TalosResults['reset'];
        case 'etcdSnapshot':
          return { size: bytesOf(await stream(M, 'EtcdSnapshot', {})).length } satisfies TalosResults['etcdSnapshot'];
        case 'kubeconfig': {
          const text = untarOne(gunzipSync(bytesOf(await stream(M, 'Kubeconfig', {}))), 'kubeconfig').toString('utf8');
          const k = parse(text) as { clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[] };
          return { clusterName: k.clusters[0].name, endpoint: k.clusters[0].cluster.server, k8sCaCrt: k.clusters[0].cluster['certificate-authority-data'] } satisfies TalosResults['kubeconfig'];
        }
        case 'get': {
          const r = RESOURCES[body.resource.toLowerCase()];
          if (!r) throw new Error(`the fallback client reads machinestatus and members only, not ${JSON.stringify(body.resource)}`);
          const items = (await stream('cosi.resource.State', 'List', { namespace: r.namespace, type: r.type }, true)).map((m): ResourceView => {
            const res = m.resource as { metadata: Json; spec: { yaml_spec: string } };
            return { node: target.node, metadata: res.metadata, spec: (parse(res.spec.yaml_spec) ?? {}) as Json };
          });
          return { items } satisfies TalosResults['get'];
        }
        case 'health': {
          // One pass: a wait of 1 ms makes the node report each check up to the first failing
          // one, then end with DeadlineExceeded; the caller polls, as talosctl's loop waits.
          const request = { wait_timeout: { seconds: '0', nanos: 1_000_000 }, cluster_info: { control_plane_nodes: body.controlPlaneNodes, worker_nodes: body.workerNodes } };
          const { messages, error } = await streamSettled('cluster.ClusterService', 'HealthCheck', request);
          if (error && error.code !== grpc.status.DEADLINE_EXCEEDED) throw error;
          const nodeError = messages.map((m) => m.metadata as { error?: string; status?: { code?: number } } | undefined).find((md) => md?.error);
          if (nodeError && nodeError.status?.code !== grpc.status.DEADLINE_EXCEEDED) throw new NodeFailure(nodeError.error!);
          const latest = new Map<string, string>();
          for (const m of messages) {
            const line = /^waiting for (.+?): ([\s\S]*)$/.exec(String(m.message ?? ''));
            if (line) latest.set(line[1], line[2]);
          }
          return { checks: [...latest].map(([name, state]) => ({ name, ok: state === 'OK', detail: state })) } satisfies TalosResults['health'];
        }
      }
    })();
    return { ok: true, result };
  } catch (err) {
    if (err instanceof NodeFailure) return { ok: false, failure: { scope: 'node', node: target.node, message: err.message } };
    const e = err as grpc.ServiceError;
    if (typeof e.code !== 'number') throw err;
    const name = CODE_NAMES[e.code] ?? 'Unknown';
    // grpc-js words a failed dial or handshake its own way; callers read talosctl's (grpc-go's) words.
    if (e.code === grpc.status.UNAVAILABLE && /ECONNREFUSED/.test(e.details)) return { ok: false, failure: { scope: 'transport', node: target.endpoint, message: dialFailure(target.endpoint, 'connection refused') } };
    if (e.code === grpc.status.UNAVAILABLE && /self-signed certificate|unable to verify|local issuer certificate|certificate signature failure/.test(e.details)) {
      return { ok: false, failure: { scope: 'transport', node: target.endpoint, message: UNKNOWN_AUTHORITY } };
    }
    const scope = e.code === grpc.status.UNAVAILABLE ? 'transport' : 'node';
    return { ok: false, failure: { scope, node: scope === 'transport' ? target.endpoint : target.node, message: `rpc error: code = ${name} desc = ${e.details}` } };
  } finally {
    for (const c of clients) c.close();
  }
}

/** The named file of an uncompressed ustar archive. */
function untarOne(tar: Buffer, name: string): Buffer {
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    const entry = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (entry === '') break;
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (entry === name) return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no ${name} in the archive the node sent`);
}
