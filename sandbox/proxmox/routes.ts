// The simulated Proxmox VE API routes (paths relative to /api2/json): template and — for
// mutating calls — the audit action in Proxmox's own task names (qmcreate, qmstart, ...).
// Each route's parameters and `permissions` come from the published schema
// (./schema/pve-api.json, keyed "METHOD /template"); `authorize` adds the privilege checks
// the handler's own code makes (./permissions.ts). Handlers work on ProxmoxState; the
// server does the rest.
import type { ProxmoxToken } from './auth';
import { paramError } from './envelope';
import { authorizeClone, authorizeCreate, authorizeTaskRead, authorizeUpdate, canAudit, runPermissionCheck } from './permissions';
import type { Params } from './params';
import { checkParameters, operationSchema, type OperationSchema } from './schema/check';
import type { CallContext, ProxmoxState } from './state';
import { parseUpid } from './upid';
import { splitTags } from './vm-config';

export interface RouteContext {
  /** Path parameters, decoded. */
  path: Record<string, string>;
  /** Query and body parameters, checked against the route's schema. */
  params: Params;
  call: CallContext;
  token: ProxmoxToken;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  template: string;
  /** Audit action of a mutating call; read-only routes have none. */
  action?: string;
  /** Privilege checks the real handler's code makes once the parameters are verified. */
  authorize?(state: ProxmoxState, ctx: RouteContext): void;
  handle(state: ProxmoxState, ctx: RouteContext): unknown;
}

export interface RouteMatch {
  route: Route;
  path: Record<string, string>;
  /** "METHOD /template", the key of its schema and of the schema-check tally. */
  operation: string;
  schema: OperationSchema;
}

const vmid = (ctx: RouteContext) => Number(ctx.path.vmid);
/** Path and body parameters together, as the handler's code sees them. */
const all = (ctx: RouteContext): Params => ({ ...ctx.params, ...ctx.path });

export const PVE_ROUTES: Route[] = [
  { method: 'GET', template: '/version', handle: () => ({ version: '9.1.1', release: '9.1', repoid: '42db4a6cf33dac83' }) },
  {
    method: 'GET',
    template: '/cluster/nextid',
    handle: (s, c) => s.nextId(c.params.vmid === undefined ? undefined : Number(c.params.vmid)),
  },
  { method: 'GET', template: '/nodes/{node}/qemu', handle: (s, c) => s.list().filter((vm) => canAudit(c.token, Number(vm.vmid))) },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu',
    action: 'qmcreate',
    authorize: (_s, c) => authorizeCreate(c.token, all(c)),
    handle: (s, c) => s.create(c.params, c.call),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/clone',
    action: 'qmclone',
    authorize: (s, c) => authorizeClone(c.token, all(c), s.simVm(vmid(c))?.config ?? {}),
    handle: (s, c) => {
      if (c.params.target !== undefined && c.params.target !== c.path.node) throw paramError({ target: 'cross-node clone is not simulated; leave target unset' });
      return s.clone(vmid(c), c.params, c.call);
    },
  },
  { method: 'GET', template: '/nodes/{node}/qemu/{vmid}/config', handle: (s, c) => s.config(vmid(c)) },
  {
    method: 'PUT',
    template: '/nodes/{node}/qemu/{vmid}/config',
    action: 'qmconfig',
    authorize: (s, c) => authorizeUpdate(c.token, all(c), s.simVm(vmid(c))?.config),
    handle: (s, c) => s.updateConfig(vmid(c), c.params, c.call, false),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/config',
    action: 'qmconfig',
    authorize: (s, c) => authorizeUpdate(c.token, all(c), s.simVm(vmid(c))?.config),
    handle: (s, c) => {
      const { background_delay: _delay, ...params } = c.params;
      return s.updateConfig(vmid(c), params, c.call, true);
    },
  },
  { method: 'GET', template: '/nodes/{node}/qemu/{vmid}/status/current', handle: (s, c) => s.statusCurrent(vmid(c)) },
  { method: 'POST', template: '/nodes/{node}/qemu/{vmid}/status/start', action: 'qmstart', handle: (s, c) => s.start(vmid(c), c.call) },
  { method: 'POST', template: '/nodes/{node}/qemu/{vmid}/status/stop', action: 'qmstop', handle: (s, c) => s.stop(vmid(c), c.call, 'qmstop') },
  { method: 'POST', template: '/nodes/{node}/qemu/{vmid}/status/shutdown', action: 'qmshutdown', handle: (s, c) => s.stop(vmid(c), c.call, 'qmshutdown') },
  { method: 'POST', template: '/nodes/{node}/qemu/{vmid}/status/reboot', action: 'qmreboot', handle: (s, c) => s.reboot(vmid(c), c.call) },
  { method: 'DELETE', template: '/nodes/{node}/qemu/{vmid}', action: 'qmdestroy', handle: (s, c) => s.destroy(vmid(c), c.call) },
  { method: 'GET', template: '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces', handle: (s, c) => s.agentNetworkInterfaces(vmid(c)) },
  {
    method: 'GET',
    template: '/nodes/{node}/tasks/{upid}/status',
    // read_task_status checks the owner in its code, after decoding the UPID.
    authorize: (_s, c) => {
      const task = parseUpid(c.path.upid);
      if (task) authorizeTaskRead(c.token, task.user, c.path.node);
    },
    handle: (s, c) => s.taskStatus(c.path.upid),
  },
  { method: 'GET', template: '/nodes/{node}/storage/{storage}/content', handle: (s, c) => s.storageContent(c.path.storage, c.params.content) },
];

for (const route of PVE_ROUTES) {
  if (!operationSchema(`${route.method} ${route.template}`)) throw new Error(`proxmox simulator: ${route.method} ${route.template} has no schema in sandbox/proxmox/schema/pve-api.json`);
}

const compiled = PVE_ROUTES.map((route) => {
  const keys: string[] = [];
  const source = route.template.replace(/\{(\w+)\}/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { route, keys, pattern: new RegExp(`^${source}/?$`) };
});

/** Finds the route for a method and a raw (still percent-encoded) path relative to /api2/json. */
export function matchRoute(method: string, rawPath: string): RouteMatch | undefined {
  for (const c of compiled) {
    if (c.route.method !== method) continue;
    const m = c.pattern.exec(rawPath);
    if (!m) continue;
    try {
      const operation = `${c.route.method} ${c.route.template}`;
      return { route: c.route, operation, schema: operationSchema(operation)!, path: Object.fromEntries(c.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * pve-manager PVE/HTTPServer.pm rest_handler: the path's parameters join the request's (a
 * conflicting duplicate is refused), then the operation's `permissions` are checked — before
 * the parameters are verified, so a token without the privilege gets 403 even for a
 * malformed request.
 */
export function authorizeOperation(match: RouteMatch, token: ProxmoxToken, params: Params): void {
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (match.path[k] !== undefined && match.path[k] !== v) errors[k] = 'duplicate parameter (already defined in URI) with conflicting values!';
  if (Object.keys(errors).length > 0) throw paramError(errors);
  const check = match.schema.permissions?.check;
  if (check) runPermissionCheck(token, check, { ...params, ...match.path });
}

/** PVE::JSONSchema::validate of the path and request parameters against the published schema. */
export function verifyParameters(match: RouteMatch, params: Params): void {
  const errors = checkParameters(match.schema, { ...params, ...match.path });
  if (Object.keys(errors).length > 0) throw paramError(errors);
}

/** What the audit log records about a mutating call: the VM's name and tags, before or after. */
export function auditTarget(match: RouteMatch, params: Params): string {
  if (match.route.action === 'qmcreate') return params.vmid ?? '';
  if (match.route.action === 'qmclone') return params.newid ?? '';
  return match.path.vmid ?? '';
}

export function auditDetail(state: ProxmoxState, match: RouteMatch, params: Params): Record<string, unknown> {
  const existing = match.path.vmid !== undefined ? state.simVm(Number(match.path.vmid)) : undefined;
  const detail: Record<string, unknown> = {
    name: params.name ?? existing?.name,
    tags: params.tags !== undefined ? splitTags(params.tags) : existing?.tags,
  };
  if (match.route.action === 'qmclone') detail.source = Number(match.path.vmid);
  return detail;
}
