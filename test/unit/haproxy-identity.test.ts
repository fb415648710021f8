import { describe, expect, it } from 'vitest';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { claimedHaproxyIdentity, HAPROXY_IDENTITY_LINE, haproxyIdentity, haproxyIdentityAnswer, stampHaproxyIdentity } from '../../core/render/haproxy-identity';
import { haproxyFile, lbConfigFiles } from '../../core/render/lb-files';
import { loadSpecFile } from '../../core/spec/load';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);

describe('the identity a rendered haproxy.cfg answers on /autok8s/config', () => {
  const cfg = renderHaproxyCfg(spec, 'srv-a');

  it('is claimed by the file and true of it', () => {
    const claimed = claimedHaproxyIdentity(cfg);
    expect(claimed).toMatch(/^[0-9a-f]{16}$/);
    expect(haproxyIdentity(cfg)).toBe(claimed);
  });

  it('differs between files that differ anywhere else', () => {
    expect(claimedHaproxyIdentity(renderHaproxyCfg(spec, 'srv-b'))).not.toBe(claimedHaproxyIdentity(cfg));
    const edited = stampHaproxyIdentity(`${cfg.replace(/^ {2}http-request return .*$/m, HAPROXY_IDENTITY_LINE)}# an edit\n`);
    expect(claimedHaproxyIdentity(edited)).not.toBe(claimedHaproxyIdentity(cfg));
  });

  it('is no longer true of a file edited after stamping', () => {
    const tampered = `${cfg}# edited by hand\n`;
    expect(claimedHaproxyIdentity(tampered)).toBe(claimedHaproxyIdentity(cfg));
    expect(haproxyIdentity(tampered)).not.toBe(claimedHaproxyIdentity(tampered));
  });

  it('cannot be stamped into a file without the identity line', () => {
    expect(() => stampHaproxyIdentity('global\n')).toThrow(/no identity line/);
    expect(() => haproxyFile('global\n', 'http://10.0.0.11:8404/healthz')).toThrow(/no autok8s identity line/);
  });

  it("is what the push's probe of haproxy.cfg expects, on the health URL's host and port", () => {
    const haproxy = lbConfigFiles(spec, 'srv-a', { gateways: spec.servers.map(() => '198.51.100.254') }).find((f) => f.program === 'haproxy')!;
    expect(haproxy.probe).toMatchObject({
      kind: 'http',
      url: expect.stringMatching(/^http:\/\/[^/]+\/autok8s\/config$/),
      expectBody: haproxyIdentityAnswer(claimedHaproxyIdentity(haproxy.content)!),
    });
    expect(haproxyFile(haproxy.content, 'http://127.0.0.1:4321/healthz').probe).toMatchObject({ url: 'http://127.0.0.1:4321/autok8s/config' });
  });
});

describe("the push's HTTP probe with an expected body", () => {
  it('passes on the expected line and fails naming what it saw and what that means', async () => {
    const { createServer } = await import('node:http');
    const { runProbe } = await import('../../activities/ssh/probe');
    let answer = 'autok8s-config 1111111111111111';
    const server = createServer((_, res) => res.end(`${answer}\n`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/autok8s/config`;
    const session = undefined as never; // an HTTP probe never touches the SSH session
    try {
      const probe = { kind: 'http' as const, url, expectBody: 'autok8s-config 1111111111111111', bodyMismatchHint: 'another file runs', attempts: 1 };
      expect(await runProbe(probe, session)).toMatchObject({ ok: true });
      answer = 'autok8s-config 2222222222222222';
      const stale = await runProbe(probe, session);
      expect(stale.ok).toBe(false);
      expect(stale.detail).toContain('"autok8s-config 2222222222222222", expected "autok8s-config 1111111111111111": another file runs');
    } finally {
      server.close();
    }
  });
});
