// Trusting the spec's CA files: concurrent first calls for different files keep both.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trustCaFile, trustedCaList } from '../../activities/ovh/client';
import { loadOrCreateSandboxCa } from '../../sandbox/tls';

describe('trustCaFile', () => {
  it('keeps every CA when two are trusted at once', async () => {
    const [a, b] = await Promise.all([loadOrCreateSandboxCa(mkdtempSync(join(tmpdir(), 'ca-a-'))), loadOrCreateSandboxCa(mkdtempSync(join(tmpdir(), 'ca-b-')))]);
    await Promise.all([trustCaFile(a.certFile), trustCaFile(b.certFile)]);
    const ca = trustedCaList()!;
    expect(ca).toContain(a.certPem);
    expect(ca).toContain(b.certPem);
    expect(ca.length).toBeGreaterThan(100); // Node's own roots stay trusted too
  });
});
