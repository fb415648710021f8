// The Talos API definitions the simulated nodes serve, from the pinned Talos version's own
// sources (never copied by hand): the compiled descriptor set in the talos module
// (`api/api.descriptors`: machine, cluster, common, resource definitions) and the COSI
// State API of github.com/cosi-project/runtime, which ships generated Go only and is
// written out as a descriptor set by scripts/cosi-descriptors.
//
// talosApiDescriptorPaths is the one place that knows where those files live, so the
// project's talosctl install (which writes the descriptor sets into its machine-wide cache)
// can replace the lookup without touching the servers.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadFileDescriptorSetFromBuffer, type PackageDefinition } from '@grpc/proto-loader';
import { cachedTalosctl } from '../../../activities/talos/talosctl-cache';

/** The Talos release whose API the nodes speak, and the cosi-project/runtime version it requires (its go.mod). */
export const TALOS_API_VERSIONS: Record<string, { cosiRuntime: string }> = {
  'v1.10.0': { cosiRuntime: 'v0.10.2' },
};
export const DEFAULT_TALOS_API_VERSION = 'v1.10.0';

export interface TalosApiDescriptorPaths {
  /** FileDescriptorSet of the Talos API (machine, cluster, common, resource definitions). */
  talos: string;
  /** FileDescriptorSet of the COSI State API and the resource meta specs. */
  cosi: string;
}

/** Where a bundled copy of this module (the stand-in's node bundle) finds the repository. */
export const REPO_ROOT_ENV = 'AUTOK8S_REPO_ROOT';
export const REPO_ROOT = process.env[REPO_ROOT_ENV] || resolve(__dirname, '..', '..', '..');
const REPO = REPO_ROOT;

function goModCache(env: NodeJS.ProcessEnv): string {
  if (env.GOMODCACHE) return env.GOMODCACHE;
  const gopath = (env.GOPATH || join(homedir(), 'go')).split(':')[0];
  return join(gopath, 'pkg', 'mod');
}

export class TalosApiDescriptorsMissing extends Error {
  override readonly name = 'TalosApiDescriptorsMissing';
}

/**
 * Where the API descriptor sets of `version` are: those scripts/install-talosctl wrote beside the
 * pinned build in the machine's cache; else the talos module in the Go module cache,
 * and the COSI set written under .build/ from the cosi-project/runtime module (generated on
 * first use with `go run scripts/cosi-descriptors`). Throws TalosApiDescriptorsMissing with
 * what to do when a module is not downloaded or Go is missing.
 */
export function talosApiDescriptorPaths(version: string = DEFAULT_TALOS_API_VERSION, env: NodeJS.ProcessEnv = process.env): TalosApiDescriptorPaths {
  const pinned = TALOS_API_VERSIONS[version];
  if (!pinned) throw new TalosApiDescriptorsMissing(`no Talos API pinned for ${version}; known: ${Object.keys(TALOS_API_VERSIONS).join(', ')}`);
  // The sets scripts/install-talosctl wrote beside the pinned build, when it ran here.
  const installed = cachedTalosctl(version)?.descriptors;
  if (installed && existsSync(installed.talos) && existsSync(installed.cosi)) return installed;
  const mod = goModCache(env);
  const talos = join(mod, 'github.com', 'siderolabs', `talos@${version}`, 'api', 'api.descriptors');
  if (!existsSync(talos)) {
    throw new TalosApiDescriptorsMissing(`the Talos ${version} API descriptors are not at ${talos}: download the module with \`GOFLAGS=-mod=mod go mod download github.com/siderolabs/talos@${version}\` (or build talosctl ${version})`);
  }
  const cosi = join(REPO, '.build', 'talos-api', version, 'cosi.descriptors');
  if (!existsSync(cosi)) {
    const source = join(mod, 'github.com', 'cosi-project', `runtime@${pinned.cosiRuntime}`);
    if (!existsSync(source)) {
      throw new TalosApiDescriptorsMissing(`github.com/cosi-project/runtime@${pinned.cosiRuntime} is not in the Go module cache (${mod}): build talosctl first, which downloads it`);
    }
    goRunInto('cosi-descriptors', cosi, [], env);
  }
  return { talos, cosi };
}

/**
 * An etcd backend database made by bbolt itself (scripts/etcd-snapshot), which simulated
 * nodes stream as their etcd snapshot: talosctl opens what it saved and checks it.
 */
export function etcdSnapshotTemplatePath(env: NodeJS.ProcessEnv = process.env): string {
  const out = join(REPO, '.build', 'talos-api', 'etcd-snapshot.db');
  if (!existsSync(out)) goRunInto('etcd-snapshot', out, ['64'], env);
  return out;
}

/** Runs the Go program scripts/<script> to write `out` (atomically: a partial file is renamed). */
function goRunInto(script: string, out: string, args: string[], env: NodeJS.ProcessEnv): void {
  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.${process.pid}.part`;
  try {
    execFileSync('go', ['run', '.', partial, ...args], {
      cwd: join(REPO, 'scripts', script),
      env: { ...env, GOWORK: 'off', GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new TalosApiDescriptorsMissing(`could not write ${out} with \`go run scripts/${script}\`: ${stderr || (err as Error).message}`);
  }
  renameSync(partial, out);
}

/** How proto-loader maps messages to JS: field names as in the .proto, 64-bit ints and enums as strings. */
export const PROTO_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

/** The Talos API and the COSI State API of `version`, as one package definition for @grpc/grpc-js. */
export function loadTalosApi(version: string = DEFAULT_TALOS_API_VERSION): PackageDefinition {
  const paths = talosApiDescriptorPaths(version);
  return {
    ...loadFileDescriptorSetFromBuffer(readFileSync(paths.talos), PROTO_OPTIONS),
    ...loadFileDescriptorSetFromBuffer(readFileSync(paths.cosi), PROTO_OPTIONS),
  };
}
