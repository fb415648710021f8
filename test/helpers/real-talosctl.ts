// The real talosctl for protocol tests: $TALOSCTL, else `talosctl` on PATH, accepted only
// at the Talos version whose API the simulated nodes serve (the descriptors they load come
// from that version's module). Undefined with the reason when there is none here; tests
// skip with that reason outside CI and fail in CI (requireInCi).
import { execFileSync } from 'node:child_process';
import { DEFAULT_TALOS_API_VERSION, talosApiDescriptorPaths } from '../../sandbox/talos/grpc/descriptors';

export interface RealTalosctl {
  path: string;
  version: string;
}

function clientVersion(path: string): string | undefined {
  try {
    const out = execFileSync(path, ['version', '--client', '--short'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return /Talos (v\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

export function findRealTalosctl(env: NodeJS.ProcessEnv = process.env): { talosctl?: RealTalosctl; missing?: string } {
  const want = DEFAULT_TALOS_API_VERSION;
  const candidates = [...(env.TALOSCTL ? [env.TALOSCTL] : []), 'talosctl'];
  const seen: string[] = [];
  for (const path of candidates) {
    const version = clientVersion(path);
    if (version === want) {
      try {
        talosApiDescriptorPaths(want, env);
      } catch (err) {
        return { missing: (err as Error).message };
      }
      return { talosctl: { path, version } };
    }
    seen.push(version ? `${path} is ${version}` : `${path} does not run`);
  }
  return { missing: `no real talosctl ${want} (${seen.join('; ')}): set $TALOSCTL to one (scripts/install-talosctl builds it)` };
}
