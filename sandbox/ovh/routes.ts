// The simulated OVH API routes: template, whether the call mutates (and so is audited),
// which object it acts on, and the handler over OvhState. Templates are written as in the
// OVH API console; path parameters arrive URL-encoded (`/ip/203.0.113.10%2F32`) and are
// decoded before the handler sees them.
import { PUBLIC_PATH_ROUTES } from './public-path-routes';
import { bareIp, type OvhState, type TaskOptions } from './state';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body (POST/PUT), {} when there is none. */
  body: Record<string, unknown>;
  task: TaskOptions;
}

export interface RouteResult {
  /** JSON answer; undefined answers 200 with an empty body (as ipCanBeMovedTo does). */
  body?: unknown;
  /** What the audit log records for a mutating call. */
  detail?: Record<string, unknown>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** e.g. "/ip/{ip}/move": also the audit action, prefixed by the method. */
  template: string;
  /** The object acted on, for the audit log: the bare IP, a service name. */
  target(params: Record<string, string>): string;
  handle(state: OvhState, ctx: RouteContext): RouteResult;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

const ipTarget = (p: Record<string, string>) => bareIp(p.ip);
const snTarget = (p: Record<string, string>) => p.serviceName;
const filterOf = (q: URLSearchParams) => ({ function: q.get('function') ?? undefined, status: q.get('status') ?? undefined });
/** The named query parameters that are present. */
const queryObject = (q: URLSearchParams, names: string[]) => Object.fromEntries(names.filter((n) => q.has(n)).map((n) => [n, q.get(n)!]));

export const OVH_ROUTES: Route[] = [
  // Failover IPs
  { method: 'GET', template: '/ip/{ip}', target: ipTarget, handle: (s, c) => ({ body: s.getIp(c.params.ip) }) },
  { method: 'GET', template: '/ip/{ip}/move', target: ipTarget, handle: (s, c) => ({ body: s.moveDestinations(c.params.ip) }) },
  {
    method: 'POST',
    template: '/ip/{ip}/move',
    target: ipTarget,
    handle: (s, c) => {
      const task = s.moveIp(c.params.ip, c.body, c.task);
      return { body: task, detail: { to: c.body.to, taskId: task.taskId } };
    },
  },
  {
    method: 'POST',
    template: '/ip/{ip}/park',
    target: ipTarget,
    handle: (s, c) => {
      const task = s.parkIp(c.params.ip, c.task);
      return { body: task, detail: { taskId: task.taskId } };
    },
  },
  { method: 'GET', template: '/ip/{ip}/task', target: ipTarget, handle: (s, c) => ({ body: s.ipTaskIds(c.params.ip, filterOf(c.query)) }) },
  { method: 'GET', template: '/ip/{ip}/task/{taskId}', target: ipTarget, handle: (s, c) => ({ body: s.ipTask(c.params.ip, c.params.taskId) }) },

  // Dedicated servers
  { method: 'GET', template: '/dedicated/server', target: () => '', handle: (s) => ({ body: s.serverNames() }) },
  { method: 'GET', template: '/dedicated/server/{serviceName}', target: snTarget, handle: (s, c) => ({ body: s.getServer(c.params.serviceName) }) },
  {
    method: 'GET',
    template: '/dedicated/server/{serviceName}/ipCanBeMovedTo',
    target: snTarget,
    handle: (s, c) => {
      s.ipCanBeMovedTo(c.params.serviceName, c.query.get('ip'));
      return {};
    },
  },
  {
    method: 'POST',
    template: '/dedicated/server/{serviceName}/reboot',
    target: snTarget,
    handle: (s, c) => {
      const task = s.reboot(c.params.serviceName, c.task);
      return { body: task, detail: { taskId: task.taskId } };
    },
  },
  { method: 'GET', template: '/dedicated/server/{serviceName}/task', target: snTarget, handle: (s, c) => ({ body: s.serverTaskIds(c.params.serviceName, filterOf(c.query)) }) },
  { method: 'GET', template: '/dedicated/server/{serviceName}/task/{taskId}', target: snTarget, handle: (s, c) => ({ body: s.serverTask(c.params.serviceName, c.params.taskId) }) },

  {
    method: 'GET',
    template: '/dedicated/server/{serviceName}/virtualNetworkInterface',
    target: snTarget,
    handle: (s, c) => ({ body: s.vrack.serverInterfaceIds(s.serverView(c.params.serviceName), queryObject(c.query, ['enabled', 'mode', 'name', 'vrack'])) }),
  },
  {
    method: 'GET',
    template: '/dedicated/server/{serviceName}/virtualNetworkInterface/{uuid}',
    target: snTarget,
    handle: (s, c) => ({ body: s.vrack.serverInterface(s.serverView(c.params.serviceName), c.params.uuid) }),
  },
  { method: 'GET', template: '/dedicated/server/virtualNetworkInterface/{uuid}', target: (p) => p.uuid, handle: (s, c) => ({ body: s.vrack.serverInterface(undefined, c.params.uuid) }) },

  ...PUBLIC_PATH_ROUTES,

  // vRack
  { method: 'GET', template: '/vrack', target: () => '', handle: (s) => ({ body: s.vrack.names() }) },
  { method: 'GET', template: '/vrack/{serviceName}', target: snTarget, handle: (s, c) => ({ body: s.vrack.get(c.params.serviceName) }) },
  { method: 'GET', template: '/vrack/{serviceName}/dedicatedServer', target: snTarget, handle: (s, c) => ({ body: s.vrack.legacyMembers(c.params.serviceName) }) },
  {
    method: 'GET',
    template: '/vrack/{serviceName}/dedicatedServer/{dedicatedServer}',
    target: snTarget,
    handle: (s, c) => ({ body: s.vrack.legacyMember(c.params.serviceName, c.params.dedicatedServer) }),
  },
  {
    method: 'POST',
    template: '/vrack/{serviceName}/dedicatedServer',
    target: snTarget,
    handle: (s, c) => {
      const task = s.vrack.addServer(c.params.serviceName, c.body, c.task);
      return { body: task, detail: { dedicatedServer: c.body.dedicatedServer, taskId: task.id } };
    },
  },
  { method: 'GET', template: '/vrack/{serviceName}/dedicatedServerInterface', target: snTarget, handle: (s, c) => ({ body: s.vrack.interfaceMembers(c.params.serviceName) }) },
  {
    method: 'GET',
    template: '/vrack/{serviceName}/dedicatedServerInterface/{dedicatedServerInterface}',
    target: snTarget,
    handle: (s, c) => ({ body: s.vrack.interfaceMember(c.params.serviceName, c.params.dedicatedServerInterface) }),
  },
  {
    method: 'POST',
    template: '/vrack/{serviceName}/dedicatedServerInterface',
    target: snTarget,
    handle: (s, c) => {
      const task = s.vrack.addInterface(c.params.serviceName, c.body, c.task);
      return { body: task, detail: { dedicatedServerInterface: c.body.dedicatedServerInterface, taskId: task.id } };
    },
  },
  { method: 'GET', template: '/vrack/{serviceName}/task', target: snTarget, handle: (s, c) => ({ body: s.vrack.taskIds(c.params.serviceName) }) },
  { method: 'GET', template: '/vrack/{serviceName}/task/{taskId}', target: snTarget, handle: (s, c) => ({ body: s.vrack.task(c.params.serviceName, c.params.taskId) }) },
];

const compiled = OVH_ROUTES.map((route) => {
  const keys: string[] = [];
  const source = route.template.replace(/\{(\w+)\}/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { route, keys, pattern: new RegExp(`^${source}$`), literals: route.template.split('/').filter((seg) => seg !== '' && !seg.startsWith('{')).length };
}).sort((a, b) => b.literals - a.literals); // a literal segment wins over a parameter

/** Finds the route for a method and a raw (still URL-encoded) API path without query. */
export function matchRoute(method: string, rawApiPath: string): RouteMatch | undefined {
  for (const c of compiled) {
    if (c.route.method !== method) continue;
    const m = c.pattern.exec(rawApiPath);
    if (!m) continue;
    try {
      const params = Object.fromEntries(c.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
      return { route: c.route, params };
    } catch {
      return undefined; // malformed percent-encoding: no such object
    }
  }
  return undefined;
}

/** Calls that change something; every one is audited, refused or not. */
export const isMutating = (method: string) => method === 'POST' || method === 'PUT' || method === 'DELETE';
