// Trusting the spec's CA files: concurrent first calls for different files keep both.
import https from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trustCaFile } from '../../activities/ovh/client';
import { loadOrCreateSandboxCa } from '../../sandbox/tls';

describe('trustCaFile', () => {
  it('keeps every CA when two are trusted at once', async () => {
    const [a, b] = await Promise.all([loadOrCreateSandboxCa(mkdtempSync(join(tmpdir(), 'ca-a-'))), loadOrCreateSandboxCa(mkdtempSync(join(tmpdir(), 'ca-b-')))]);
    await Promise.all([trustCaFile(a.certFile), trustCaFile(b.certFile)]);
    const ca = https.globalAgent.options.ca as string[];
    expect(ca).toContain(a.certPem);
    expect(ca).toContain(b.certPem);
    expect(ca.length).toBeGreaterThan(100); // Node's own roots stay trusted too
  });
});
