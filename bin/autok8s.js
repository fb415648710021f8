#!/usr/bin/env node
// The `autok8s` command. Runs the TypeScript sources through tsx so that a fresh
// `npm install` is all it takes: no build step to forget, no stale dist/.
require('tsx/cjs');
const { main } = require('../client/cli.ts');

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
