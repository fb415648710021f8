// The MachineService and ClusterService calls autok8s makes, served by one simulated node:
// each request becomes a call on the node state machine (TalosApi, through `handle` so the
// sandbox's faults apply) for every node the request is routed to, and each answer becomes
// Talos's message. Request and response shapes: api/machine/machine.proto and
// api/cluster/cluster.proto of the pinned Talos version.
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { TalosAnswer, TalosCall, TalosResults } from '../protocol';
import * as say from '../wording';
import { issueClientCert, newCa } from './certs';
import { etcdSnapshotTemplatePath } from './descriptors';
import { RESET_COURSE } from '../talos-api';
import { helloEvent, newActorId, resetStartedEvent, stopAllServicesEvent, type NodeEvents } from './events';
import * as msg from './messages';
import { authorize, maintenanceRefusal, routeOf, rpcError, RpcError, toServiceError, type Caller, type Route, type SurfaceCall } from './routing';

/** A call on the node state machine without its addressing (the router adds it). */
type Op = TalosCall extends infer C ? (C extends TalosCall ? Omit<C, 'endpoint' | 'node' | 'auth'> : never) : never;

export interface ServiceContext {
  /** Who calls over this connection, as the node presents itself now. */
  caller(call: SurfaceCall): Caller;
  handle(call: TalosCall): Promise<TalosAnswer>;
  platform: string;
  events: NodeEvents;
  /** Keeps a node's API port open for `ms` although the node no longer answers (its services are still stopping). */
  holdOpen(ip: string, ms: number): void;
}



type Json = Record<string, unknown>;

/** One node's answer to `op`: the result, or the RpcError the node (or the proxy dialing it) gave. */
async function answerFrom(ctx: ServiceContext, caller: Caller, target: string, op: Op): Promise<unknown> {
  const answer = await ctx.handle({ ...op, endpoint: caller.endpoint, node: target, auth: caller.auth } as TalosCall);
  if (answer.ok) return answer.result;
  throw new RpcError(msg.statusOf(answer.failure.message));
}

function admit(ctx: ServiceContext, call: SurfaceCall, method: string): { caller: Caller; route: Route } {
  const caller = ctx.caller(call);
  if (caller.maintenance) {
    const refusal = maintenanceRefusal(method);
    if (refusal) throw refusal;
    return { caller, route: { kind: 'local' } };
  }
  authorize(caller, method);
  return { caller, route: routeOf(call.metadata, method) };
}

const targetOf = (route: Route, caller: Caller) => (route.kind === 'one' ? route.target : caller.endpoint);

/** A unary call answered as `{messages: [...]}`: one message, or one per node for `nodes`. */
function unary<Req>(ctx: ServiceContext, method: string, opOf: (req: Req) => Op, toMessage: (result: unknown, req: Req, caller: Caller, target: string) => Json): grpc.handleUnaryCall<Req, Json> {
  return (call, callback) => {
    void (async () => {
      const { caller, route } = admit(ctx, call, method);
      const op = opOf(call.request);
      if (route.kind !== 'many') {
        const target = targetOf(route, caller);
        return { messages: [toMessage(await answerFrom(ctx, caller, target, op), call.request, caller, target)] };
      }
      const messages = await Promise.all(
        route.targets.map(async (target) => {
          try {
            return { metadata: msg.nodeMetadata(target), ...toMessage(await answerFrom(ctx, caller, target, op), call.request, caller, target) };
          } catch (err) {
            if (!(err instanceof RpcError)) throw err;
            return { metadata: msg.nodeMetadata(target, err.status) };
          }
        }),
      );
      return { messages };
    })().then(
      (reply) => callback(null, reply),
      (err: unknown) => callback(err instanceof RpcError ? toServiceError(err) : { code: 13, details: (err as Error).message }),
    );
  };
}

/**
 * A server stream: `produce` writes one node's messages. For `nodes` apid appends each
 * message's node in metadata and turns a node's failure into a message with metadata.error
 * (the stream itself ends OK); otherwise a failure ends the stream with its status.
 */
function stream<Req>(ctx: ServiceContext, method: string, produce: (caller: Caller, target: string, req: Req, write: (m: Json) => void, call: grpc.ServerWritableStream<Req, Json>) => Promise<void>): grpc.handleServerStreamingCall<Req, Json> {
  return (call) => {
    void (async () => {
      const { caller, route } = admit(ctx, call, method);
      if (route.kind !== 'many') return produce(caller, targetOf(route, caller), call.request, (m) => call.write(m), call);
      for (const target of route.targets) {
        try {
          await produce(caller, target, call.request, (m) => call.write({ ...m, metadata: msg.nodeMetadata(target) }), call);
        } catch (err) {
          if (!(err instanceof RpcError)) throw err;
          call.write({ metadata: msg.nodeMetadata(target, err.status) });
        }
      }
    })().then(
      () => call.end(),
      (err: unknown) => call.emit('error', err instanceof RpcError ? toServiceError(err) : { code: 13, details: (err as Error).message }),
    );
  };
}

let database: Buffer | undefined;
const etcdDatabase = () => (database ??= readFileSync(etcdSnapshotTemplatePath()));

let kubeAdmin: Promise<{ certPem: string; keyPem: string }> | undefined;

/** The admin client certificate of extracted kubeconfigs (the simulated clusters run no Kubernetes API to check it). */
function kubeAdminCert() {
  kubeAdmin ??= newCa('kubernetes').then((ca) => issueClientCert(ca, ['system:masters']));
  return kubeAdmin;
}

const writeBytes = (bytes: Buffer, write: (m: Json) => void) => {
  for (const chunk of msg.chunks(bytes)) write({ bytes: chunk });
};

export function machineService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const m = (name: string) => `/machine.MachineService/${name}`;
  return {
    ApplyConfiguration: unary<{ data: Buffer; mode: string; dry_run: boolean }>(
      ctx,
      m('ApplyConfiguration'),
      (req) => ({ op: 'applyConfiguration', configText: req.data.toString('utf8'), mode: req.mode.toLowerCase().replace(/_/g, '-'), dryRun: req.dry_run }),
      (result, req, caller) => msg.applyConfigurationMessage(result as TalosResults['applyConfiguration'], req.mode, caller.maintenance),
    ),
    Bootstrap: unary(ctx, m('Bootstrap'), () => ({ op: 'bootstrap' }), () => ({})),
    EtcdMemberList: unary(ctx, m('EtcdMemberList'), () => ({ op: 'etcdMemberList' }), (r) => msg.etcdMembersMessage(r as TalosResults['etcdMemberList'])),
    EtcdRemoveMemberByID: unary<{ member_id: string }>(ctx, m('EtcdRemoveMemberByID'), (req) => ({ op: 'etcdRemoveMemberById', memberId: msg.memberIdHex(req.member_id) }), () => ({})),
    EtcdLeaveCluster: unary(ctx, m('EtcdLeaveCluster'), () => ({ op: 'etcdLeaveCluster' }), () => ({})),
    Version: unary(ctx, m('Version'), () => ({ op: 'version' }), (r) => msg.versionMessage(r as TalosResults['version'], ctx.platform)),
    Reset: unary<{ graceful: boolean; reboot: boolean }>(
      ctx,
      m('Reset'),
      (req) => ({ op: 'reset', graceful: req.graceful, reboot: req.reboot }),
      (_r, _req, _caller, target) => {
        // The reset runs after the answer, as machined's sequencer does: its events follow it.
        const actorId = newActorId();
        // Its course (RESET_COURSE): the node's state machine keeps it from maintenance mode at least as long.
        ctx.holdOpen(target, RESET_COURSE.apiStopsMs);
        setTimeout(() => ctx.events.publish(target, [resetStartedEvent(actorId)]), RESET_COURSE.startedMs).unref();
        setTimeout(() => ctx.events.publish(target, [stopAllServicesEvent(actorId)]), RESET_COURSE.stopAllServicesMs).unref();
        return { actor_id: actorId };
      },
    ),
    Events: events(ctx),
    EtcdSnapshot: stream(ctx, m('EtcdSnapshot'), async (caller, target, _req, write) => {
      await answerFrom(ctx, caller, target, { op: 'etcdSnapshot' });
      writeBytes(msg.etcdSnapshotBytes(etcdDatabase()), write);
    }),
    Kubeconfig: stream(ctx, m('Kubeconfig'), async (caller, target, _req, write) => {
      const r = (await answerFrom(ctx, caller, target, { op: 'kubeconfig' })) as TalosResults['kubeconfig'];
      writeBytes(msg.tarGzOneFile('kubeconfig', Buffer.from(msg.kubeconfigYaml(r, await kubeAdminCert()))), write);
    }),
  };
}

/**
 * `/machine.MachineService/Events`: a hello event, then the node's events as they happen,
 * until the client goes away or the node does (its port drops the connection). A node the
 * endpoint cannot reach fails the call as a dial would.
 */
function events(ctx: ServiceContext): grpc.handleServerStreamingCall<{ tail_events?: number; with_actor_id?: string }, Json> {
  return (call) => {
    const unsubscribe: (() => void)[] = [];
    call.on('cancelled', () => unsubscribe.forEach((u) => u()));
    void (async () => {
      const { caller, route } = admit(ctx, call, '/machine.MachineService/Events');
      const many = route.kind === 'many';
      const targets = many ? route.targets : [targetOf(route, caller)];
      // A node behind the endpoint must be reachable (checked without side effects: a Version
      // call); the endpoint itself answers while this connection lasts, even as it resets.
      for (const target of targets) if (target !== caller.endpoint) await answerFrom(ctx, caller, target, { op: 'version' });
      for (const target of targets) {
        const tag = (e: Json): Json => (many ? { ...e, metadata: msg.nodeMetadata(target) } : e);
        call.write(tag(helloEvent(call.request?.with_actor_id ?? ''))); // sendEmptyEvent(req) carries the asked actor
        const tail = { tailEvents: call.request?.tail_events ?? 0, withActorId: call.request?.with_actor_id || undefined };
        unsubscribe.push(ctx.events.subscribe(target, (e) => call.write(tag({ ...e })), tail));
      }
    })().catch((err: unknown) => call.emit('error', err instanceof RpcError ? toServiceError(err) : { code: 13, details: (err as Error).message }));
  };
}

interface HealthCheckRequest {
  wait_timeout?: { seconds: string; nanos: number };
  cluster_info?: { control_plane_nodes: string[]; worker_nodes: string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * cluster.ClusterService/HealthCheck as machined runs it (v1alpha1_cluster.go): "discovered
 * nodes", then each default check in order, reported as "waiting for <check>: <state>"
 * whenever the line changes, until it passes or the wait timeout ends the call.
 */
export function clusterService(ctx: ServiceContext, pollMs = 100): grpc.UntypedServiceImplementation {
  return {
    HealthCheck: stream<HealthCheckRequest>(ctx, '/cluster.ClusterService/HealthCheck', async (caller, target, req, write, call) => {
      const cps = req.cluster_info?.control_plane_nodes ?? [];
      const workers = req.cluster_info?.worker_nodes ?? [];
      const waitMs = Number(req.wait_timeout?.seconds ?? 0) * 1000 + Math.floor((req.wait_timeout?.nanos ?? 0) / 1e6);
      const deadline = Date.now() + (waitMs > 0 ? waitMs : 20 * 60_000);
      write({ message: `discovered nodes: [${[...cps, ...workers].map((ip) => JSON.stringify(ip)).join(' ')}]` });
      let last = '';
      const report = (line: string) => {
        if (line !== last) write({ message: line });
        last = line;
      };
      for (const name of say.HEALTH_CHECKS) {
        for (;;) {
          if (call.cancelled) throw rpcError('Canceled', 'context canceled');
          const r = (await answerFrom(ctx, caller, target, { op: 'health', controlPlaneNodes: cps, workerNodes: workers })) as TalosResults['health'];
          const check = r.checks.find((c) => c.name === name);
          if (!check || check.ok) {
            report(`waiting for ${name}: OK`);
            break;
          }
          report(`waiting for ${name}: ${check.detail}`);
          if (Date.now() >= deadline) throw rpcError('DeadlineExceeded', 'context deadline exceeded');
          await sleep(pollMs);
        }
      }
    }),
  };
}
