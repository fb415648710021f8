// Relative paths in a spec (file: secret refs, CA files, the state dir, talosctl) are
// relative to the spec file, not to wherever the worker happens to run. Loading resolves
// them once, so the spec that travels in workflow inputs holds absolute paths only.
import { isAbsolute, resolve } from 'node:path';
import type { ClusterSpec } from './schema';

function resolvePath(path: string, baseDir: string): string {
  if (path === '~' || path.startsWith('~/') || isAbsolute(path)) return path;
  return resolve(baseDir, path);
}

function resolveRef(ref: string, baseDir: string): string {
  return ref.startsWith('file:') ? `file:${resolvePath(ref.slice(5), baseDir)}` : ref;
}

export function resolveSpecPaths(spec: ClusterSpec, baseDir: string): ClusterSpec {
  const path = (p: string | undefined) => (p === undefined ? undefined : resolvePath(p, baseDir));
  return {
    ...spec,
    ovh: {
      ...spec.ovh,
      caFile: path(spec.ovh.caFile),
      applicationKey: resolveRef(spec.ovh.applicationKey, baseDir),
      applicationSecret: resolveRef(spec.ovh.applicationSecret, baseDir),
      consumerKey: resolveRef(spec.ovh.consumerKey, baseDir),
    },
    talos: { ...spec.talos, talosctl: spec.talos.talosctl?.includes('/') ? path(spec.talos.talosctl) : spec.talos.talosctl },
    servers: spec.servers.map((server) => ({
      ...server,
      proxmox: { ...server.proxmox, caFile: path(server.proxmox.caFile), tokenSecret: resolveRef(server.proxmox.tokenSecret, baseDir) },
      ssh: { ...server.ssh, privateKey: resolveRef(server.ssh.privateKey, baseDir) },
    })),
    state: { ...spec.state, dir: path(spec.state.dir) },
  };
}
