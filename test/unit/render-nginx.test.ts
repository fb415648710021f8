import { describe, expect, it } from 'vitest';
import { headerSpecHash, LB_PORTS } from '../../core/render/lb-topology';
import { NGINX_DEFAULT_PATHS, renderNginxConf } from '../../core/render/nginx';
import { specHash } from '../../core/render/spec-hash';
import { loadSpecFile } from '../../core/spec/load';
import { debianHasDir } from '../../sandbox/lbhost/debian-layout';
import { expectGolden } from '../golden/golden';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);

describe('renderNginxConf', () => {
  it('matches the golden file', () => {
    expectGolden('nginx-srv-a.conf', renderNginxConf(spec, 'srv-a'));
  });

  it('puts every file nginx writes under the paths it is given', () => {
    const paths = { pid: '/scratch/n.pid', errorLog: '/scratch/e.log', accessLog: '/scratch/a.log', cacheDir: '/scratch/cache', tempDir: '/scratch/tmp' };
    const conf = renderNginxConf(spec, 'srv-a', { paths });
    for (const p of Object.values(NGINX_DEFAULT_PATHS)) expect(conf).not.toContain(p);
    expect(conf).toContain('pid /scratch/n.pid;');
    expect(conf).toContain('error_log /scratch/e.log warn;');
    expect(conf).toContain('access_log /scratch/a.log;');
    expect(conf).toMatch(/proxy_cache_path \/scratch\/cache /);
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) expect(conf).toMatch(new RegExp(`${t}_temp_path /scratch/tmp/`));
  });

  it('proxies to the local HAProxy by default, or to every worker when asked', () => {
    expect(renderNginxConf(spec, 'srv-a')).toContain(`server 127.0.0.1:${LB_PORTS.ingressHttp};`);
    const direct = renderNginxConf(spec, 'srv-a', { upstream: 'workers', workerHttpPort: 30080 });
    for (const s of spec.servers) expect(direct).toContain(`server ${s.vms.worker.ip}:30080 `);
    expect(direct).not.toContain('127.0.0.1');
  });

  it('caches through a proxy_cache zone that proxy_cache names, and serves /healthz on its health port', () => {
    const conf = renderNginxConf(spec, 'srv-a', { healthPort: 9405, listenPort: 9080 });
    const zone = /keys_zone=([a-z0-9_]+):/.exec(conf)?.[1];
    expect(zone).toBeDefined();
    expect(conf).toContain(`proxy_cache ${zone};`);
    expect(conf).toContain('listen 9405;');
    expect(conf).toContain('listen 9080 default_server;');
    expect(conf).toContain('location = /healthz {');
  });

  it('names only directories a fresh Debian VM has: nginx creates just the last component of a cache or temp path', () => {
    const conf = renderNginxConf(spec, 'srv-a');
    const parent = (path: string) => path.replace(/\/[^/]+$/, '') || '/';
    const created = [...conf.matchAll(/^\s*(?:proxy_cache_path|\w+_temp_path) (\S+?);?(?:\s|$)/gm)].map((m) => m[1]);
    const opened = [...conf.matchAll(/^\s*(?:error_log|access_log|pid) (\/\S+?);?(?:\s|$)/gm)].map((m) => m[1]);
    expect(created).toHaveLength(6);
    expect(opened).toHaveLength(3);
    for (const path of [...created, ...opened]) expect({ path, parentOnDebian: debianHasDir(parent(path)) }).toEqual({ path, parentOnDebian: true });
    expect(conf).toMatch(/proxy_cache_path \/var\/lib\/nginx\/autok8s-cache /);
  });

  it('omits the user directive when told to (a test instance not started as root)', () => {
    expect(renderNginxConf(spec, 'srv-a')).toMatch(/^user www-data;$/m);
    expect(renderNginxConf(spec, 'srv-a', { user: null })).not.toMatch(/^user /m);
  });

  it('refuses a path with a space', () => {
    expect(() => renderNginxConf(spec, 'srv-a', { paths: { pid: '/my dir/nginx.pid' } })).toThrow(/paths.pid/);
  });

  it('carries the spec hash in its header', () => {
    expect(headerSpecHash(renderNginxConf(spec, 'srv-b'))).toBe(specHash(spec));
  });
});
