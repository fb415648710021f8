#!/usr/bin/env node
// The `autok8s` command. It runs the prebuilt bundle (.build/cli.js, made by `npm install`)
// while that is newer than every source file it was built from, and otherwise the
// TypeScript sources through tsx: no build step to remember, and never a stale build.
const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

function freshBundle() {
  try {
    const bundle = statSync(join(root, '.build', 'cli.js')).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(root, '.build', 'cli-inputs.json'), 'utf8'));
    return inputs.every((file) => statSync(join(root, file)).mtimeMs <= bundle) ? join(root, '.build', 'cli.js') : undefined;
  } catch {
    return undefined; // no bundle, or a source file it names is gone
  }
}

const bundle = process.env.AUTOK8S_FROM_SOURCE ? undefined : freshBundle();
let cli;
if (bundle) {
  cli = require(bundle);
} else {
  require('tsx/cjs');
  cli = require('../client/cli.ts');
}

cli.main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
