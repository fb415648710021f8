// Builds the pinned talosctl from the Go module proxy into the machine's talosctl cache
// (core/talos/talosctl-pin.ts), with the API descriptor sets the simulated Talos nodes are
// built from. Run by scripts/install-talosctl (`npm run install-talosctl`), .ci/run and the
// tests' global setup. Idempotent: a binary that answers `version --client` with the pinned
// tag, and descriptors that are there, are kept. Every file is written to a temporary name
// and renamed into place, so a reader never sees half a binary.
//
// The recipe (issue #17): the talos module's go.mod points ./pkg/machinery at the nested
// module by a relative replace and carries a go.work for the monorepo; from the module zip
// neither resolves, so the unpacked copy gets the nested module's own download as its
// replace and no go.work. Then a plain static build of ./cmd/talosctl.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parseVersionShort } from '../../core/talos/version';
import { PINNED_COSI_RUNTIME_VERSION, PINNED_TALOS_VERSION, type TalosctlCacheEntry } from '../../core/talos/talosctl-pin';
import { isExecutableFile, talosctlCacheEntryFor, type CacheLookup } from '../../activities/talos/talosctl-cache';

const TALOS_MODULE = 'github.com/siderolabs/talos';
const MACHINERY_MODULE = `${TALOS_MODULE}/pkg/machinery`;
const COSI_MODULE = 'github.com/cosi-project/runtime';

export interface InstallOptions extends CacheLookup {
  version?: string;
  log?: (line: string) => void;
  /** Rebuild even when the cached binary answers with the right tag. */
  force?: boolean;
  /** The go command (default: found on PATH, then /usr/local/go/bin). */
  go?: string;
}

export interface Installed {
  entry: TalosctlCacheEntry;
  /** What was made this time (nothing when the cache already held it all). */
  made: ('binary' | 'talos descriptors' | 'cosi descriptors')[];
  /** `talosctl version --client` of the installed binary. */
  clientVersion: string;
}

export class TalosctlInstallError extends Error {
  override name = 'TalosctlInstallError';
}

export function findGo(env: Record<string, string | undefined> = process.env): string | undefined {
  for (const dir of [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/go/bin']) {
    if (isExecutableFile(join(dir, 'go'))) return join(dir, 'go');
  }
  return undefined;
}

function run(file: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: o.cwd, env: o.env, timeout: o.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const tail = `${stderr}`.trim().split('\n').slice(-15).join('\n');
      reject(new TalosctlInstallError(`${[file, ...args].join(' ')} failed (${err.killed ? 'timed out' : `exit ${err.code}`})${tail ? `:\n${tail}` : ''}`));
    });
  });
}

/** `talosctl version --client` and the tag it names; undefined when the file does not run as talosctl. */
export async function clientVersionOf(binary: string): Promise<{ output: string; tag?: string } | undefined> {
  if (!isExecutableFile(binary)) return undefined;
  try {
    const output = await run(binary, ['version', '--client'], { timeoutMs: 30_000, env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } });
    return { output, tag: parseVersionShort(output).client };
  } catch {
    return undefined;
  }
}

/** Writes `make(tempPath)` to `path` through a temporary name in the same directory, then renames it into place. */
async function atomically(path: string, make: (temp: string) => Promise<void>): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await make(temp);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Writes the COSI runtime's State API (cosi.resource.State: Get, List, Watch) and everything it
 * imports as one FileDescriptorSet. The runtime ships the API as generated Go only (the .proto
 * files are not in its module); the descriptors compiled into that Go are the pinned truth.
 */
const COSI_DESCRIPTOR_WRITER = `package main

import (
	"os"

	_ "github.com/cosi-project/runtime/api/v1alpha1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) { // imports first, as protoc writes a set
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := 0; i < fd.Imports().Len(); i++ {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, path := range []string{"v1alpha1/state.proto", "v1alpha1/resource.proto", "v1alpha1/meta.proto"} {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			panic(err)
		}
		add(fd)
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(os.Args[1], out, 0o644); err != nil {
		panic(err)
	}
}
`;

export async function installTalosctl(options: InstallOptions = {}): Promise<Installed> {
  const version = options.version ?? PINNED_TALOS_VERSION;
  const log = options.log ?? ((line: string) => console.log(`install-talosctl: ${line}`));
  const entry = talosctlCacheEntryFor(version, options);
  const made: Installed['made'] = [];

  const cached = options.force ? undefined : await clientVersionOf(entry.binary);
  const binaryOk = cached?.tag === version;
  if (cached && !binaryOk) log(`${entry.binary} answers ${cached.tag ?? 'no tag'}, not ${version}: rebuilding it`);
  const talosDescriptorsOk = !options.force && existsSync(entry.descriptors.talos);
  const cosiDescriptorsOk = !options.force && existsSync(entry.descriptors.cosi);
  if (binaryOk && talosDescriptorsOk && cosiDescriptorsOk) {
    log(`talosctl ${version} is cached at ${entry.binary}`);
    return { entry, made, clientVersion: cached.output };
  }

  const go = options.go ?? findGo(options.env ?? process.env);
  if (!go) {
    throw new TalosctlInstallError(
      `building talosctl ${version} needs Go (1.24 or newer) and the Go module proxy: none on PATH or in /usr/local/go/bin. Install it (Debian: apt-get install golang-go), then run \`npm run install-talosctl\``,
    );
  }
  // Go 1.21 and newer fetch the toolchain a module's go line asks for (GOTOOLCHAIN=auto); older ones cannot build it.
  const goVersion = (await run(go, ['env', 'GOVERSION'])).trim();
  const [major, minor] = (/^go(\d+)\.(\d+)/.exec(goVersion) ?? []).slice(1).map(Number);
  if (!(major > 1 || (major === 1 && minor >= 21))) {
    throw new TalosctlInstallError(`${go} is ${goVersion || 'of an unknown version'}: building talosctl ${version} needs Go 1.24 (Go 1.21 or newer downloads it by itself); install a newer Go (https://go.dev/dl/), then run \`npm run install-talosctl\``);
  }
  // The module's own build, as Talos's CI makes a static talosctl; GOFLAGS from the caller are
  // dropped because -mod=vendor or a -tags list would build something else.
  const goEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env, GOWORK: 'off', CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
  const download = async (module: string) => {
    const info = JSON.parse(await run(go, ['mod', 'download', '-json', `${module}@${version}`], { env: goEnv, timeoutMs: 15 * 60_000 })) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new TalosctlInstallError(`go mod download ${module}@${version}: ${info.Error ?? 'no directory in the answer'}`);
    return info.Dir;
  };

  const todo = [...(binaryOk ? [] : ['the binary (the first build downloads ~1.2 GB of modules and takes minutes)']), ...(talosDescriptorsOk && cosiDescriptorsOk ? [] : ['the API descriptors'])];
  log(`making talosctl ${version} in ${entry.dir} (go: ${go}): ${todo.join('; ')}`);
  const work = mkdtempSync(join(tmpdir(), `autok8s-talosctl-${version}-`));
  try {
    const talosDir = await download(TALOS_MODULE);
    const machineryDir = await download(MACHINERY_MODULE);
    const src = join(work, 'talos');
    cpSync(talosDir, src, { recursive: true });
    makeWritable(src); // the module cache is read-only
    rmSync(join(src, 'go.work'), { force: true });
    rmSync(join(src, 'go.work.sum'), { force: true });
    await run(go, ['mod', 'edit', `-replace=${MACHINERY_MODULE}=${machineryDir}`], { cwd: src, env: goEnv });

    if (!binaryOk) {
      await atomically(entry.binary, async (temp) => {
        await run(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', temp, './cmd/talosctl'], { cwd: src, env: goEnv, timeoutMs: 60 * 60_000 });
        chmodSync(temp, 0o755);
        const answer = await clientVersionOf(temp);
        if (answer?.tag !== version) throw new TalosctlInstallError(`the built talosctl answers ${answer?.tag ?? 'nothing'} to \`version --client\`, not ${version}`);
      });
      made.push('binary');
      log(`talosctl ${version} built: ${entry.binary}`);
    }
    if (!talosDescriptorsOk) {
      await atomically(entry.descriptors.talos, async (temp) => copyFileSync(join(src, 'api', 'api.descriptors'), temp));
      made.push('talos descriptors');
    }
    if (!cosiDescriptorsOk) {
      const cosi = (await run(go, ['list', '-m', '-f', '{{.Version}}', COSI_MODULE], { cwd: src, env: goEnv })).trim();
      if (cosi !== PINNED_COSI_RUNTIME_VERSION) {
        throw new TalosctlInstallError(`talos ${version} requires ${COSI_MODULE} ${cosi}, not ${PINNED_COSI_RUNTIME_VERSION} (core/talos/talosctl-pin.ts): pin the version its go.mod names`);
      }
      const writer = join(src, 'hack', 'autok8s-cosi-descriptors');
      mkdirSync(writer, { recursive: true });
      writeFileSync(join(writer, 'main.go'), COSI_DESCRIPTOR_WRITER);
      await atomically(entry.descriptors.cosi, (temp) => run(go, ['run', './hack/autok8s-cosi-descriptors', temp], { cwd: src, env: goEnv, timeoutMs: 15 * 60_000 }).then(() => undefined));
      made.push('cosi descriptors');
    }
    log(`API descriptors: ${entry.descriptors.talos}, ${entry.descriptors.cosi}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const final = await clientVersionOf(entry.binary);
  if (final?.tag !== version) throw new TalosctlInstallError(`${entry.binary} answers ${final?.tag ?? 'nothing'} to \`version --client\` after the install, not ${version}`);
  return { entry, made, clientVersion: final.output };
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) makeWritable(path);
    else chmodSync(path, 0o644);
  }
}

/** The command line of scripts/install-talosctl: exit 0 with the binary's path and version, 1 with the reason. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: scripts/install-talosctl [--force]
Builds talosctl ${PINNED_TALOS_VERSION} (the pinned version) from the Go module proxy into the machine's
talosctl cache, with its API descriptors; keeps what is already there. Cache: /var/cache/autok8s/talosctl,
else ~/.cache/autok8s/talosctl when that is not writable, or $AUTOK8S_TALOSCTL_CACHE.`);
    return 0;
  }
  try {
    // Progress to stderr: stdout is the binary's path, then its version, for scripts to read.
    const { entry, clientVersion } = await installTalosctl({ force: argv.includes('--force'), log: (line) => console.error(`install-talosctl: ${line}`) });
    console.log(entry.binary);
    process.stdout.write(clientVersion);
    return 0;
  } catch (err) {
    console.error(`install-talosctl: ${(err as Error).message}`);
    return 1;
  }
}
