// The COSI State API (`/cosi.resource.State/Get`, `/List`) for the resources autok8s reads
// with `talosctl get`: MachineStatuses.runtime.talos.dev and Members.cluster.talos.dev,
// plus the ResourceDefinitions talosctl lists first to resolve a name such as
// "machinestatus" (pkg/machinery/client/resources.go ResolveResourceKind). talosctl get
// prints a resource from its yaml_spec; a ResourceDefinition it decodes from proto_spec
// (cosi.resource.meta.ResourceDefinitionSpec), so that one is encoded with the pinned
// runtime's own descriptor.
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor';
import { stringify } from 'yaml';
import type { ResourceView, TalosResults } from '../protocol';
import { DEFAULT_TALOS_API_VERSION, talosApiDescriptorPaths } from './descriptors';
import { rpcError, RpcError, toServiceError } from './routing';
import type { ServiceContext } from './machine-service';
import { authorize, maintenanceRefusal, routeOf, type Caller, type SurfaceCall } from './routing';

interface Definition {
  type: string;
  displayType: string;
  defaultNamespace: string;
  aliases: string[];
}

/** The definitions served (aliases as Talos v1.10.0 registers them; allAliases as cosi's Fill computes them). */
const DEFINITIONS: Definition[] = [
  { type: 'MachineStatuses.runtime.talos.dev', displayType: 'MachineStatus', defaultNamespace: 'runtime', aliases: [] },
  { type: 'Members.cluster.talos.dev', displayType: 'Member', defaultNamespace: 'cluster', aliases: [] },
  { type: 'ResourceDefinitions.meta.cosi.dev', displayType: 'ResourceDefinition', defaultNamespace: 'meta', aliases: ['api-resources'] },
  { type: 'Namespaces.meta.cosi.dev', displayType: 'Namespace', defaultNamespace: 'meta', aliases: ['ns'] },
];
const RD_TYPE = 'ResourceDefinitions.meta.cosi.dev';

/** cosi runtime spec.ResourceDefinitionSpec.Fill: the plural and singular, lower-cased, and the given aliases. */
function allAliases(d: Definition): string[] {
  const plural = d.type.split('.')[0].toLowerCase();
  return [...new Set([plural, d.displayType.toLowerCase(), ...d.aliases])];
}

let specType: protobuf.Type | undefined;
function definitionSpecType(): protobuf.Type {
  if (!specType) {
    const root = (protobuf.Root as unknown as { fromDescriptor(b: Buffer): protobuf.Root }).fromDescriptor(readFileSync(talosApiDescriptorPaths(DEFAULT_TALOS_API_VERSION).cosi));
    specType = root.lookupType('cosi.resource.meta.ResourceDefinitionSpec');
  }
  return specType;
}

const timestamp = (iso: string | undefined) => {
  const ms = iso ? Date.parse(iso) : Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
};

function definitionResource(d: Definition): Record<string, unknown> {
  const spec = { resourceType: d.type, displayType: d.displayType, defaultNamespace: d.defaultNamespace, aliases: d.aliases, allAliases: allAliases(d), printColumns: [], sensitivity: 0 };
  const T = definitionSpecType();
  const yamlSpec = { type: d.type, displayType: d.displayType, defaultNamespace: d.defaultNamespace, aliases: d.aliases, allAliases: allAliases(d), printColumns: [] };
  return {
    metadata: { namespace: 'meta', type: RD_TYPE, id: d.type.toLowerCase(), version: '1', owner: '', phase: 'running', created: timestamp(undefined), updated: timestamp(undefined) },
    spec: { proto_spec: Buffer.from(T.encode(T.fromObject(spec)).finish()), yaml_spec: stringify(yamlSpec) },
  };
}

function resourceOf(view: ResourceView): Record<string, unknown> {
  const md = view.metadata as { namespace: string; type: string; id: string; version: number; owner: string; phase: string; created?: string; updated?: string };
  return {
    metadata: { namespace: md.namespace, type: md.type, id: md.id, version: String(md.version), owner: md.owner, phase: md.phase, created: timestamp(md.created), updated: timestamp(md.updated) },
    spec: { proto_spec: Buffer.alloc(0), yaml_spec: stringify(view.spec) },
  };
}

async function resources(ctx: ServiceContext, caller: Caller, target: string, namespace: string, type: string): Promise<Record<string, unknown>[]> {
  if (type === RD_TYPE) return namespace === 'meta' ? DEFINITIONS.map(definitionResource) : [];
  const d = DEFINITIONS.find((x) => x.type === type);
  if (!d || d.defaultNamespace !== namespace || d.defaultNamespace === 'meta') return [];
  const answer = await ctx.handle({ op: 'get', resource: type, endpoint: caller.endpoint, node: target, auth: caller.auth });
  if (!answer.ok) {
    const m = /^rpc error: code = (\w+) desc = ([\s\S]*)$/.exec(answer.failure.message);
    throw rpcError((m?.[1] as never) ?? 'Unknown', m?.[2] ?? answer.failure.message);
  }
  return (answer.result as TalosResults['get']).items.map(resourceOf);
}

function admit(ctx: ServiceContext, call: SurfaceCall, method: string): { caller: Caller; target: string } {
  const caller = ctx.caller(call);
  if (caller.maintenance) {
    const refusal = maintenanceRefusal(method);
    if (refusal) throw refusal;
    return { caller, target: caller.endpoint };
  }
  authorize(caller, method);
  const route = routeOf(call.metadata, method);
  return { caller, target: route.kind === 'one' ? route.target : caller.endpoint };
}

const failWith = (err: unknown) => (err instanceof RpcError ? toServiceError(err) : { code: 13, details: (err as Error).message });

export function cosiStateService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  return {
    Get: ((call: grpc.ServerUnaryCall<{ namespace: string; type: string; id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void (async () => {
        const { caller, target } = admit(ctx, call, '/cosi.resource.State/Get');
        const { namespace, type, id } = call.request;
        const found = (await resources(ctx, caller, target, namespace, type)).find((r) => (r.metadata as { id: string }).id === id);
        // cosi-project/runtime pkg/state ErrNotFound, as the State server maps it.
        if (!found) throw rpcError('NotFound', `resource ${type}(${namespace}/${id}@undefined) doesn't exist`);
        return { resource: found };
      })().then((reply) => callback(null, reply), (err: unknown) => callback(failWith(err)));
    }) as grpc.handleUnaryCall<unknown, unknown>,
    List: ((call: grpc.ServerWritableStream<{ namespace: string; type: string }, unknown>) => {
      void (async () => {
        const { caller, target } = admit(ctx, call, '/cosi.resource.State/List');
        for (const resource of await resources(ctx, caller, target, call.request.namespace, call.request.type)) call.write({ resource });
      })().then(() => call.end(), (err: unknown) => call.emit('error', failWith(err)));
    }) as grpc.handleServerStreamingCall<unknown, unknown>,
  };
}
