// Starting the Temporal dev server: a start-up failure comes with what to do about it.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, startDevServer, startFailureHint } from '../../client/dev/dev-server';

describe('startFailureHint', () => {
  it.each([
    ["Error: can't set frontend port 7233: listen tcp 127.0.0.1:7233: bind: address already in use", /Port 7233 is taken: .*--port, --ui-port/],
    ['Error: some other failure', /^$/],
  ])('%s', (stderr, hint) => {
    expect(startFailureHint(stderr)).toMatch(hint);
  });
});

describe('startDevServer', () => {
  it('refuses a gRPC port that is taken, naming the port and the way out', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startDevServer({ port, uiPort: false, startTimeoutMs: 30_000 })).rejects.toThrow(new RegExp(`Port ${port} is taken`));
    } finally {
      holder.close();
    }
  }, 60_000);

  it('serves its Prometheus metrics on the metrics port it was given', async () => {
    const metricsPort = await freePort();
    const server = await startDevServer({ uiPort: false, metricsPort, startTimeoutMs: 30_000 });
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^# TYPE \w+ counter$/m);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
