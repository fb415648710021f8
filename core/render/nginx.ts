// nginx.conf for one LB VM: the L7 public web entry with a cache in front of the ingress,
// and a /healthz of its own. A complete file (no includes), with every path nginx writes
// configurable so `nginx -t -c <file>` and a test instance can run from a scratch
// directory. Pure: spec in, file text out.
import { GRAMMAR, requireGrammar, requireInt } from '../spec/grammar';
import type { ClusterSpec } from '../spec/schema';
import { LB_PORTS, lbServer, renderHeader, safeToken, workerBackends } from './lb-topology';

export interface NginxPaths {
  pid: string;
  errorLog: string;
  accessLog: string;
  /** proxy_cache_path directory. */
  cacheDir: string;
  /** Parent of the temp directories (body, proxy, fastcgi, uwsgi, scgi). */
  tempDir: string;
}

export interface NginxRenderOptions {
  paths?: Partial<NginxPaths>;
  /** Where the cache forwards misses: the local HAProxy's :80 (default, so HAProxy's checks pick live workers) or the workers' ingress directly. */
  upstream?: 'local-haproxy' | 'workers';
  /** Port of the workers' HTTP ingress when `upstream: 'workers'` (default 80). */
  workerHttpPort?: number;
  listenPort?: number;
  healthPort?: number;
  /** User the workers run as (default www-data, as on Debian); null leaves nginx's compiled-in default. */
  user?: string | null;
  cacheMaxSize?: string;
}

/**
 * Debian's locations. The cache sits beside the temp directories in /var/lib/nginx, which
 * nginx-common ships: nginx creates only the last component of a cache or temp path (owned
 * by its worker user, www-data), and Debian has no /var/cache/nginx (docs/contracts.md §D.1).
 * So the file works on a stock VM with no directory made beforehand, and the cache shares
 * the temp files' file system (use_temp_path=off writes in place anyway).
 */
export const NGINX_DEFAULT_PATHS: NginxPaths = {
  pid: '/run/nginx.pid',
  errorLog: '/var/log/nginx/error.log',
  accessLog: '/var/log/nginx/access.log',
  cacheDir: '/var/lib/nginx/autok8s-cache',
  tempDir: '/var/lib/nginx',
};

export function renderNginxConf(spec: ClusterSpec, serverName: string, opts: NginxRenderOptions = {}): string {
  lbServer(spec, serverName);
  const p: NginxPaths = { ...NGINX_DEFAULT_PATHS, ...opts.paths };
  for (const [key, value] of Object.entries(p)) safeToken(value, `paths.${key}`);
  const user = opts.user === undefined ? 'www-data' : opts.user;
  const listenPort = requireInt(opts.listenPort ?? LB_PORTS.nginxWeb, 1, 65535, 'listenPort');
  const healthPort = requireInt(opts.healthPort ?? LB_PORTS.nginxHealth, 1, 65535, 'healthPort');
  const workerPort = requireInt(opts.workerHttpPort ?? LB_PORTS.ingressHttp, 1, 65535, 'workerHttpPort');
  const cacheMaxSize = requireGrammar(GRAMMAR.nginxSize, opts.cacheMaxSize ?? '1g', 'cacheMaxSize');
  const upstreamServers =
    (opts.upstream ?? 'local-haproxy') === 'local-haproxy'
      ? [`127.0.0.1:${LB_PORTS.ingressHttp}`]
      : workerBackends(spec).map((w) => `${w.ip}:${workerPort} max_fails=3 fail_timeout=10s`);

  return [
    renderHeader('nginx.conf', spec, serverName),
    ...(user ? [`user ${safeToken(user, 'user')};`] : []),
    'worker_processes auto;',
    `pid ${p.pid};`,
    `error_log ${p.errorLog} warn;`,
    '',
    'events {',
    '  worker_connections 4096;',
    '}',
    '',
    'http {',
    '  default_type application/octet-stream;',
    `  access_log ${p.accessLog};`,
    '  sendfile on;',
    '  keepalive_timeout 65s;',
    '  server_tokens off;',
    `  client_body_temp_path ${p.tempDir}/body;`,
    `  proxy_temp_path ${p.tempDir}/proxy;`,
    `  fastcgi_temp_path ${p.tempDir}/fastcgi;`,
    `  uwsgi_temp_path ${p.tempDir}/uwsgi;`,
    `  scgi_temp_path ${p.tempDir}/scgi;`,
    '',
    '  # The cache keeps what the applications mark cacheable (Cache-Control, Expires) and serves',
    '  # stale copies while the ingress is unreachable; responses with cookies are never stored.',
    `  proxy_cache_path ${p.cacheDir} levels=1:2 keys_zone=autok8s_web:16m max_size=${cacheMaxSize} inactive=60m use_temp_path=off;`,
    '',
    '  upstream web_entry {',
    ...upstreamServers.map((s) => `    server ${s};`),
    '    keepalive 32;',
    '  }',
    '',
    '  server {',
    `    listen ${listenPort} default_server;`,
    '    location / {',
    '      proxy_pass http://web_entry;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    '      proxy_cache autok8s_web;',
    '      proxy_cache_lock on;',
    '      proxy_cache_background_update on;',
    '      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;',
    '      # Personalised requests go straight through and are never stored.',
    '      proxy_cache_bypass $http_authorization $cookie_session;',
    '      proxy_no_cache $http_authorization $cookie_session;',
    '      add_header X-Cache-Status $upstream_cache_status always;',
    '    }',
    '  }',
    '',
    '  server {',
    `    listen ${healthPort};`,
    '    location = /healthz {',
    '      access_log off;',
    '      default_type text/plain;',
    '      return 200 "ok\\n";',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}
