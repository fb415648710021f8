// Golden files: rendered output compared byte for byte with a file committed under
// test/golden/. Run with UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then
// review the diff like any other code change.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const GOLDEN_DIR = __dirname;
const updating = process.env.UPDATE_GOLDEN === '1';

export function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (updating || !existsSync(file)) {
    if (!updating) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 to create it, then review it`);
    writeFileSync(file, actual);
    return;
  }
  expect(actual, `${name} differs from its golden file; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff`).toBe(readFileSync(file, 'utf8'));
}
