#!/usr/bin/env node
// Builds the sandbox's `talosctl` forwarder (sandbox/talos/forwarder/main.go) into
// .build/talosctl-forwarder; run by `npm install` through the `prepare` script, after the
// CLI bundle. Why: the talosctl stand-in used to start Node for every call (~60 ms of CPU),
// which dominated the health benchmark; the Go forwarder hands the command line to the
// running TalosSimulator and costs a few ms. Optional: without Go, or when the build fails,
// it logs one line and the sandbox falls back to the node bundle (TalosSimulator.writeStandIn).
// Rebuilt only when the binary is missing or older than main.go. Standard library only, so
// it builds offline (no go.mod, GOPROXY=off, GOTOOLCHAIN=local) and needs no cgo.
const { spawnSync } = require('node:child_process');
const { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } = require('node:fs');
const { delimiter, join } = require('node:path');

const root = join(__dirname, '..');
const srcDir = join(root, 'sandbox', 'talos', 'forwarder');
const src = join(srcDir, 'main.go');
const out = join(root, '.build', 'talosctl-forwarder');

function findGo() {
  const dirs = (process.env.PATH || '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/local/go/bin']) {
    const candidate = join(dir, 'go');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function main() {
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return; // up to date
  const go = findGo();
  if (!go) {
    console.log('autok8s: Go not found; the sandbox talosctl stand-in will start Node per call (slower)');
    return;
  }
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOPROXY: 'off', GOWORK: 'off', GOFLAGS: '-buildvcs=false', GO111MODULE: 'on' };
  // The build cache needs a home; give it one under .build when the environment has none.
  if (!env.GOCACHE && !env.XDG_CACHE_HOME && !env.HOME) env.GOCACHE = join(root, '.build', 'go-cache');
  if (!env.GOPATH && !env.HOME) env.GOPATH = join(root, '.build', 'go-path');
  mkdirSync(join(root, '.build'), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const result = spawnSync(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, 'main.go'], { cwd: srcDir, env, encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) {
    rmSync(tmp, { force: true });
    const why = (result.error?.message ?? result.stderr ?? '').trim().split('\n')[0] || `exit ${result.status ?? result.signal}`;
    console.log(`autok8s: building the talosctl forwarder failed (${why}); the sandbox stand-in will start Node per call (slower)`);
    return;
  }
  renameSync(tmp, out); // atomic: a running sandbox never execs a half-written binary
  console.log('autok8s: talosctl forwarder built into .build/talosctl-forwarder');
}

try {
  main();
} catch (err) {
  console.log(`autok8s: talosctl forwarder not built (${err.message}); the sandbox stand-in will start Node per call (slower)`);
}
