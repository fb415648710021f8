// haproxy.cfg for one LB VM: L4 (mode tcp) frontends for the Kubernetes API and Talos
// apid on the control planes, plain and TLS ingress on the workers, and the health
// endpoint failover probes (`monitor-uri /healthz` on :8404), which also says which file it
// runs (GET /autok8s/config). Pure: spec in, file text out.
//
// Frontends bind `*:<port>` so the same file works on the LB VM (where the VIP comes and
// goes with keepalived: a wildcard bind needs no `ip_nonlocal_bind`) and in a test namespace.
import type { ClusterSpec } from '../spec/schema';
import { HAPROXY_IDENTITY_LINE, stampHaproxyIdentity } from './haproxy-identity';
import { controlPlaneBackends, LB_PORTS, lbServer, renderHeader, safeToken, workerBackends, type Backend } from './lb-topology';

export interface HaproxyRenderOptions {
  /** Ports the workers' ingress listens on; a NodePort pair such as { http: 30080, https: 30443 } when it is not bound to 80/443. */
  ingressBackendPorts?: { http: number; https: number };
  /** Unprivileged user/group HAProxy drops to after binding (default haproxy/haproxy, as the Debian package creates). null: stay as started. */
  runAs?: { user: string; group: string } | null;
}

/** Health checks: every 2 s, down after 3 failures, up again after 2 successes. */
export const HAPROXY_CHECK = 'inter 2s fall 3 rise 2';

export function renderHaproxyCfg(spec: ClusterSpec, serverName: string, opts: HaproxyRenderOptions = {}): string {
  lbServer(spec, serverName);
  const ingress = opts.ingressBackendPorts ?? { http: LB_PORTS.ingressHttp, https: LB_PORTS.ingressHttps };
  for (const port of [ingress.http, ingress.https]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`ingress backend port ${port} must be an integer from 1 to 65535`);
  }
  const runAs = opts.runAs === undefined ? { user: 'haproxy', group: 'haproxy' } : opts.runAs;
  const controlPlanes = controlPlaneBackends(spec);
  const workers = workerBackends(spec);

  const section = (name: string, comment: string, bindPort: number, servers: Backend[], serverPort: number) => [
    `# ${comment}`,
    `frontend ${name}`,
    `  bind *:${bindPort}`,
    `  default_backend ${name}`,
    '',
    `backend ${name}`,
    '  balance roundrobin',
    ...servers.map((b) => `  server ${b.name} ${b.ip}:${serverPort} check`),
    '',
  ];

  const cfg = [
    renderHeader('haproxy.cfg', spec, serverName),
    'global',
    '  log /dev/log local0',
    '  # No global maxconn: HAProxy sizes it from the file-descriptor limit it is given, and a fixed',
    '  # value above that limit makes it refuse to start (seen on a reload with a 20000 fd limit).',
    ...(runAs ? [`  user ${safeToken(runAs.user, 'runAs.user')}`, `  group ${safeToken(runAs.group, 'runAs.group')}`] : []),
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  option dontlognull',
    '  timeout connect 5s',
    '  # Long client/server timeouts: kubectl watches and talosctl streams stay open for a long time.',
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 5s',
    `  default-server ${HAPROXY_CHECK}`,
    '',
    ...section('kube_api', 'Kubernetes API on every control plane (the keepalived VIP points here).', LB_PORTS.kubeApi, controlPlanes, LB_PORTS.kubeApi),
    ...section('talos_apid', 'Talos apid on every control plane, for talosctl through the VIP.', LB_PORTS.talosApi, controlPlanes, LB_PORTS.talosApi),
    ...section('ingress_http', 'Plain HTTP to the workers\' ingress controller.', LB_PORTS.ingressHttp, workers, ingress.http),
    ...section('ingress_https', 'TLS passed through to the workers\' ingress controller, which terminates it.', LB_PORTS.ingressHttps, workers, ingress.https),
    '# Health of this LB, probed before a failover IP is routed here; /stats for humans.',
    'frontend lb_health',
    '  mode http',
    `  bind *:${LB_PORTS.haproxyHealth}`,
    '  timeout client 10s',
    '  monitor-uri /healthz',
    '  # Which file this HAProxy runs: a reload that cannot bind keeps the old one (haproxy-identity.ts).',
    HAPROXY_IDENTITY_LINE,
    '  stats enable',
    '  stats uri /stats',
    '  stats refresh 10s',
    '',
  ].join('\n');
  return stampHaproxyIdentity(cfg);
}
