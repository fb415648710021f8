// Benchmark output: a table on stdout and a JSON file under bench/results/ (one per entry,
// overwritten by the latest run, with the machine it ran on).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface BenchResult {
  name: string;
  goal: string;
  met: boolean;
  settings: Record<string, unknown>;
  columns: string[];
  rows: (string | number)[][];
  data: unknown;
}

export const RESULTS_DIR = join(__dirname, 'results');

export function printTable(columns: string[], rows: (string | number)[][]): string {
  const cells = [columns, ...rows.map((r) => r.map(String))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(columns), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(r.map(String)))].join('\n');
}

export function report(result: BenchResult): void {
  console.log(`\n## ${result.name}\n`);
  console.log(printTable(result.columns, result.rows));
  console.log(`\ngoal: ${result.goal} — ${result.met ? 'met' : 'NOT met'}`);
  console.log(`settings: ${JSON.stringify(result.settings)}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { ...result, at: new Date().toISOString(), machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version } },
      null,
      2,
    ) + '\n',
  );
  console.log(`saved ${file}`);
}

export const ms = (v: number) => `${Math.round(v)} ms`;
