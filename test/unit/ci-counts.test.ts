// .ci/run's last line comes from .ci/vitest-counts.js reading vitest's JSON report. Here a
// real vitest run (its own config, in a scratch directory, with CI=true) produces the report:
// a pass, a skipIf, a todo, a failed test, and a tier whose prerequisite is missing.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths';

const run = promisify(execFile);
const PREREQUISITES = join(ROOT, 'test', 'helpers', 'prerequisites.ts');

function scratchSuite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ak8s-ci-counts-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 't'));
  writeFileSync(
    join(dir, 'vitest.config.mts'),
    `import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['t/*.test.ts'], reporters: [['json', { outputFile: 'vitest.json' }]] } });\n`,
  );
  writeFileSync(
    join(dir, 't', 'mixed.test.ts'),
    `import { expect, it } from 'vitest';
it('passes', () => expect(1).toBe(1));
it.skipIf(true)('is skipped', () => {});
it.todo('is to do');
it('fails', () => expect(1).toBe(2));
`,
  );
  writeFileSync(
    join(dir, 't', 'tier.test.ts'),
    `import { describe, it } from 'vitest';
import { requireInCi } from ${JSON.stringify(PREREQUISITES)};
describe.skipIf(requireInCi('frobnicator is not installed', 'the frobnicator tier'))('the frobnicator tier', () => { it('runs', () => {}); });
`,
  );
  return dir;
}

describe('.ci/vitest-counts.js', () => {
  it('counts passed, failed (a file failing outside its tests as one) and skipped (skip and todo), and names each skipped test', async () => {
    const dir = scratchSuite();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && k !== 'TEST'));
    const suite = await run(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(dir, 'vitest.config.mts'), '--root', dir], { cwd: dir, env: { ...env, CI: 'true' } }).catch(
      (err: { stdout: string; stderr: string; code: number }) => err,
    );
    expect('code' in suite ? suite.code : 0, 'the scratch suite fails').toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'vitest.json'), 'utf8')) as { testResults: { name: string; message: string }[] };
    // The tier's file failed for the reason requireInCi gives, not for an unrelated import error.
    expect(report.testResults.find((f) => f.name.endsWith('tier.test.ts'))!.message).toMatch(/^the frobnicator tier must run in CI \(CI=true\), but frobnicator is not installed/);

    const counts = await run(process.execPath, [join(ROOT, '.ci', 'vitest-counts.js'), join(dir, 'vitest.json')], { cwd: dir });
    expect(counts.stdout.trim()).toBe('1 2 2 4');
    expect(counts.stderr).toContain('[ci] skipped: t/mixed.test.ts > is skipped');
    expect(counts.stderr).toContain('[ci] skipped: t/mixed.test.ts > is to do');
  }, 60_000);
});
