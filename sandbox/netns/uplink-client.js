// The internet's client, run inside the uplink namespace (sandbox/netns/public-uplink.ts):
// an HTTP server on a Unix socket (a file, so the root namespace reaches it while every packet
// this process sends leaves from the uplink) that turns GET /<failover ip>/<path> into
// GET http://<failover ip>/<path> through the uplink's routes, and passes the answer back
// as it came (status, headers, body). A request nobody answers closes the connection without a
// response, as the sandbox's in-process internet does (sandbox/public-internet.ts).
//
// Usage: node uplink-client.js <socket path> <ip>[,<ip>...]   (only the listed IPs are asked)
// Plain CommonJS on Node's own modules: it runs without the project's loader.
'use strict';
const http = require('node:http');
const { rmSync } = require('node:fs');

const [socketPath, ipList] = process.argv.slice(2);
if (!socketPath || !ipList) {
  console.error('usage: node uplink-client.js <socket path> <ip>[,<ip>...]');
  process.exit(2);
}
const allowed = new Set(ipList.split(','));
/** Per-request bound on the whole exchange; a caller may ask for less with x-uplink-timeout-ms. */
const MAX_TIMEOUT_MS = 10000;

const server = http.createServer((req, res) => {
  const m = /^\/(\d{1,3}(?:\.\d{1,3}){3})(\/[^\s]*)?$/.exec(req.url || '');
  if (!m || !allowed.has(m[1])) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`GET /<ip>/<path> with <ip> one of ${[...allowed].join(', ')}\n`);
    return;
  }
  const asked = Number(req.headers['x-uplink-timeout-ms']);
  const timeout = Number.isFinite(asked) && asked > 0 ? Math.min(asked, MAX_TIMEOUT_MS) : 2000;
  const upstream = http.request({ host: m[1], port: 80, path: m[2] || '/', method: 'GET', agent: false, headers: { host: m[1] } }, (answer) => {
    res.writeHead(answer.statusCode || 502, answer.headers);
    answer.pipe(res);
  });
  const timer = setTimeout(() => upstream.destroy(new Error('timeout')), timeout);
  upstream.on('close', () => clearTimeout(timer));
  upstream.on('error', (err) => {
    console.log(`${new Date().toISOString()} ${m[1]}${m[2] || '/'}: ${err.code || err.message}`);
    req.socket.destroy();
  });
  // The caller gave up: so does the request it asked for.
  res.on('close', () => upstream.destroy());
  upstream.end();
});

rmSync(socketPath, { force: true });
server.listen(socketPath, () => console.log(`listening on ${socketPath}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
