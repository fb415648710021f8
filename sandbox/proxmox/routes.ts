// The simulated Proxmox VE API routes (paths relative to /api2/json): template, parameter
// schema, and — for mutating calls — the audit action in Proxmox's own task names
// (qmcreate, qmstart, ...). Handlers work on ProxmoxState; the server does the rest.
import { paramError } from './envelope';
import { QEMU_CONFIG_PROPS, VMID_PROP, validateParams, type Params, type PropSpec, type Schema } from './params';
import type { CallContext, ProxmoxState } from './state';
import { splitTags } from './vm-config';

export interface RouteContext {
  /** Path parameters, decoded. */
  path: Record<string, string>;
  /** Query and body parameters, validated against the route's schema. */
  params: Params;
  call: CallContext;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  template: string;
  schema: Schema;
  /** Audit action of a mutating call; read-only routes have none. */
  action?: string;
  handle(state: ProxmoxState, ctx: RouteContext): unknown;
}

export interface RouteMatch {
  route: Route;
  path: Record<string, string>;
}

const opt = (spec: PropSpec): PropSpec => ({ ...spec, optional: true });
const bool = opt({ type: 'boolean' });
const int0 = opt({ type: 'integer', min: 0 });
const str = opt({ type: 'string' });
const vmid = (ctx: RouteContext) => Number(ctx.path.vmid);

export const PVE_ROUTES: Route[] = [
  { method: 'GET', template: '/version', schema: {}, handle: () => ({ version: '8.2.4', release: '8.2', repoid: 'faa83925c9641325' }) },
  {
    method: 'GET',
    template: '/cluster/nextid',
    schema: { vmid: opt(VMID_PROP) },
    handle: (s, c) => s.nextId(c.params.vmid === undefined ? undefined : Number(c.params.vmid)),
  },
  { method: 'GET', template: '/nodes/{node}/qemu', schema: { full: bool }, handle: (s) => s.list() },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu',
    action: 'qmcreate',
    schema: { ...QEMU_CONFIG_PROPS, vmid: VMID_PROP, start: bool, storage: str, pool: str, unique: bool },
    handle: (s, c) => s.create(c.params, c.call),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/clone',
    action: 'qmclone',
    schema: { newid: VMID_PROP, name: QEMU_CONFIG_PROPS.name, description: str, full: bool, target: str, storage: str, pool: str, snapname: str, format: opt({ type: 'string', enum: ['raw', 'qcow2', 'vmdk'] }), bwlimit: int0 },
    handle: (s, c) => {
      if (c.params.target !== undefined && c.params.target !== c.path.node) throw paramError({ target: 'cross-node clone is not simulated; leave target unset' });
      return s.clone(vmid(c), c.params, c.call);
    },
  },
  { method: 'GET', template: '/nodes/{node}/qemu/{vmid}/config', schema: { current: bool, snapshot: str }, handle: (s, c) => s.config(vmid(c)) },
  {
    method: 'PUT',
    template: '/nodes/{node}/qemu/{vmid}/config',
    action: 'qmconfig',
    schema: { ...QEMU_CONFIG_PROPS, delete: str, digest: str, skiplock: bool, revert: str },
    handle: (s, c) => s.updateConfig(vmid(c), c.params, c.call, false),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/config',
    action: 'qmconfig',
    schema: { ...QEMU_CONFIG_PROPS, delete: str, digest: str, skiplock: bool, revert: str, background_delay: opt({ type: 'integer', min: 1, max: 30 }) },
    handle: (s, c) => {
      const { background_delay: _delay, ...params } = c.params;
      return s.updateConfig(vmid(c), params, c.call, true);
    },
  },
  { method: 'GET', template: '/nodes/{node}/qemu/{vmid}/status/current', schema: {}, handle: (s, c) => s.statusCurrent(vmid(c)) },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/status/start',
    action: 'qmstart',
    schema: { skiplock: bool, timeout: int0, machine: str },
    handle: (s, c) => s.start(vmid(c), c.call),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/status/stop',
    action: 'qmstop',
    schema: { skiplock: bool, timeout: int0, keepActive: bool, 'overrule-shutdown': bool },
    handle: (s, c) => s.stop(vmid(c), c.call, 'qmstop'),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/status/shutdown',
    action: 'qmshutdown',
    schema: { skiplock: bool, timeout: int0, forceStop: bool, keepActive: bool },
    handle: (s, c) => s.stop(vmid(c), c.call, 'qmshutdown'),
  },
  {
    method: 'POST',
    template: '/nodes/{node}/qemu/{vmid}/status/reboot',
    action: 'qmreboot',
    schema: { timeout: int0 },
    handle: (s, c) => s.reboot(vmid(c), c.call),
  },
  {
    method: 'DELETE',
    template: '/nodes/{node}/qemu/{vmid}',
    action: 'qmdestroy',
    schema: { purge: bool, 'destroy-unreferenced-disks': bool, skiplock: bool },
    handle: (s, c) => s.destroy(vmid(c), c.call),
  },
  { method: 'GET', template: '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces', schema: {}, handle: (s, c) => s.agentNetworkInterfaces(vmid(c)) },
  { method: 'GET', template: '/nodes/{node}/storage/{storage}/content', schema: { content: str, vmid: opt(VMID_PROP) }, handle: (s, c) => s.storageContent(c.path.storage, c.params.content) },
  { method: 'GET', template: '/nodes/{node}/tasks/{upid}/status', schema: {}, handle: (s, c) => s.taskStatus(c.path.upid) },
];

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
      return { route: c.route, path: Object.fromEntries(c.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Validates path parameters (a VMID in the path is checked like any other) and then the rest. */
export function validateRequest(match: RouteMatch, params: Params): Params {
  const pathSchema: Schema = {};
  if (match.path.vmid !== undefined) pathSchema.vmid = VMID_PROP;
  validateParams(match.path.vmid !== undefined ? { vmid: match.path.vmid } : {}, pathSchema);
  return validateParams(params, match.route.schema);
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
