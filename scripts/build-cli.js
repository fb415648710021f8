#!/usr/bin/env node
// Bundles the CLI into .build/cli.js (run by `npm install` through the `prepare` script).
// Why: keepalived's notify_master runs `autok8s failover` on every takeover, and loading the
// TypeScript sources through tsx costs ~0.5 s of start-up on a small VM. The bundle keeps
// npm packages external (plain `require`), so only this project's own code is in it.
// bin/autok8s.js uses it only while it is newer than every source file it was built from;
// otherwise the CLI runs from source, so a stale bundle is never used.
const { buildSync } = require('esbuild');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, '.build', 'cli.js');
mkdirSync(join(root, '.build'), { recursive: true });
const result = buildSync({
  entryPoints: [join(root, 'client', 'cli.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  metafile: true,
  logLevel: 'error',
});
// The inputs, so the launcher can tell when the bundle is stale.
const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
writeFileSync(join(root, '.build', 'cli-inputs.json'), JSON.stringify(inputs) + '\n');
console.log(`autok8s: CLI bundled from ${inputs.length} source files into .build/cli.js`);
