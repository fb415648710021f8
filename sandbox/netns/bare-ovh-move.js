#!/usr/bin/env node
// The notify_master script people write today to pull an OVH failover IP to the LB that
// just became MASTER: read the credentials, POST /ip/{ip}/move, print the task. No check of
// where the IP is, no probe of the target, no retry, no join with a concurrent trigger.
// It is the baseline of bench/failover-detection.ts, so it stays as small as the real thing.
//
// Plain CommonJS on the `ovh` npm package (no autok8s code), run with plain `node`.
// Takes keepalived's arguments as rendered for autok8s (`... --ip <ip> --to <server> ...`)
// and reads $OVH_NOTIFY_CONFIG, a JSON file:
//   { "host", "port", "basePath", "applicationKeyFile", "applicationSecretFile",
//     "consumerKeyFile", "services": { "<server>": "<OVH service name>" } }
// TLS: the sandbox CA is trusted through NODE_EXTRA_CA_CERTS; verification stays on.
'use strict';
const { readFileSync } = require('node:fs');
const ovh = require('ovh');

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const config = JSON.parse(readFileSync(process.env.OVH_NOTIFY_CONFIG, 'utf8'));
  const read = (file) => readFileSync(file, 'utf8').trim();
  const ip = arg('--ip');
  const to = config.services[arg('--to')];
  if (!ip || !to) throw new Error('usage: bare-ovh-move.js --ip <failover ip> --to <server named in the config>');
  const client = ovh({
    appKey: read(config.applicationKeyFile),
    appSecret: read(config.applicationSecretFile),
    consumerKey: read(config.consumerKeyFile),
    host: config.host,
    port: config.port,
    basePath: config.basePath,
  });
  const task = await client.requestPromised('POST', `/ip/${encodeURIComponent(`${ip}/32`)}/move`, { to });
  console.log(`moving ${ip} to ${to}: task ${task.taskId} ${task.status}`);
}

main().catch((err) => {
  console.error('move failed:', err && err.message ? err.message : err);
  process.exit(1);
});
