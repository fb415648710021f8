#!/usr/bin/env node
// Reads vitest's JSON report and prints "<passed> <failed> <skipped> <total>" for .ci/run.
// A file that fails outside its tests (a hook that times out, an import error, a tier whose
// prerequisite is missing in CI) has no failed test, yet the run failed: it counts as one
// failure, so the count never says 0 for a red run. Skipped is vitest's pending (skip,
// skipIf) plus todo; each skipped test is named on stderr, so a skip is never silent.
const { readFileSync } = require('node:fs');
const { relative } = require('node:path');

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const files = report.testResults || [];
const fileOnlyFailures = files.filter((f) => f.status === 'failed' && !(f.assertionResults || []).some((a) => a.status === 'failed')).length;
for (const f of files) {
  for (const a of f.assertionResults || []) {
    if (['pending', 'skipped', 'todo'].includes(a.status)) console.error(`[ci] skipped: ${relative(process.cwd(), f.name)} > ${a.fullName}`);
  }
}
const skipped = (report.numPendingTests || 0) + (report.numTodoTests || 0);
console.log(report.numPassedTests, report.numFailedTests + fileOnlyFailures, skipped, report.numTotalTests);
