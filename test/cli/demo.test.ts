// `autok8s demo --until done` as a user runs it: its own dev server, sandbox and worker;
// the JSON timeline must show the story happened: cluster bootstrapped, the failover IP
// moved once when the active LB died, the killed worker repaired by the health schedule,
// a control plane rebuilt during planned maintenance.
import { findPinnedTalosctl } from '../../sandbox/talos/real-talosctl';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../client/dev/dev-server';
import { readKeyringFile } from '../../codec/keyring';
import { ROOT } from '../helpers/paths';

describe('autok8s demo', () => {
  it('runs the story to the end and prints a timeline with Web UI links', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ak8s-demo-')), 'demo');
    const [port, uiPort] = [await freePort(), await freePort()];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bin', 'autok8s.js'), 'demo', '--until', 'done', '--output', 'json', '--dir', dir, '--port', String(port), '--ui-port', String(uiPort)],
        { cwd: ROOT, timeout: 240_000, env: { ...process.env, NO_COLOR: '1' } },
        (err, out, errOut) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out, stderr: errOut }),
      );
    });
    expect(code, stderr).toBe(0);
    expect(existsSync(`${dir}.lock`)).toBe(false); // the directory is free for the next demo
    const result = JSON.parse(stdout) as { webUi: string; payloadKeys: string; codecServer: string; talosctl: string[]; timeline: { chapter: string; workflowId: string; url: string; outcome: string }[] };
    expect(result.webUi).toBe(`http://localhost:${uiPort}`);
    // It says which talosctl its worker runs, and whether the real one is built (and how to build it).
    // The real talosctl when it is built (always under CI: .ci/run builds it), else the fallback client and how to build the real one.
    const real = findPinnedTalosctl();
    if ('path' in real) {
      expect(result.talosctl).toEqual([`talosctl: ${real.path} (the real talosctl v1.10.0, named by the sandbox's spec)`]);
    } else {
      expect(result.talosctl[0]).toBe(`talosctl: ${join(dir, 'sandbox', 'bin', 'talosctl')} (the sandbox's fallback client, which speaks the Talos API over gRPC like talosctl; named by the spec's talos.talosctl)`);
      expect(result.talosctl[1]).toMatch(/^talosctl: the real talosctl v1\.10\.0 is not built here; `npm run install-talosctl` builds it/);
    }
    // The worker's own lookup says the same on stderr, with why it did not take another.
    expect(stderr).toContain(`talosctl: ${'path' in real ? real.path : join(dir, 'sandbox', 'bin', 'talosctl')} (from the spec's talos.talosctl)`);
    // Payloads were encrypted: a 0600 keyring in the demo directory, and a codec server for the UI.
    expect(result.payloadKeys).toBe(join(dir, 'payload-keys'));
    expect(statSync(result.payloadKeys).mode & 0o777).toBe(0o600);
    expect(readKeyringFile(result.payloadKeys).current).toBe('dev');
    expect(result.codecServer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.timeline.map((c) => c.workflowId)).toEqual(['sandbox/bootstrap', 'sandbox/watcher', 'sandbox/failover/203.0.113.10', 'sandbox/watcher', 'sandbox/replace/srv-c/controlPlane']);
    expect(result.timeline[0].outcome).toMatch(/created 9 VMs.*bootstrapped etcd/);
    const failover = result.timeline[2];
    expect(failover.outcome).toMatch(/203\.0\.113\.10: srv-a → srv-b/);
    expect(result.timeline[3].outcome).toBe('srv-b/worker rebooted and Ready again');
    expect(result.timeline[4].outcome).toMatch(/^srv-c\/controlPlane rebuilt as VM \d+; (it left etcd itself|its etcd member was removed), 3 etcd members after/);
    const audit = readFileSync(join(dir, 'sandbox', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { service: string; action: string; outcome: string });
    expect(audit.filter((e) => e.service === 'ovh' && e.action === 'task:genericMoveFloatingIp' && e.outcome === 'ok')).toHaveLength(1);
    // The planned replacement rebuilt one VM, and the paused health check started no other.
    expect(audit.filter((e) => e.action === 'qmdestroy' && e.outcome === 'ok')).toHaveLength(1);
    expect(failover?.url).toContain(`http://localhost:${uiPort}/namespaces/default/workflows/sandbox%2Ffailover%2F203.0.113.10/`);
  });
});
