// How many requests each simulator checked against its provider's published schema, so the
// suite can show that every request the adapters sent passed the same check the real
// service would apply (docs/contracts.md). Counts live in memory and are written once, when
// the process exits, to AUTOK8S_SCHEMA_TALLY_DIR (set by the test run's global set-up);
// without it nothing is written.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';

export type SchemaProvider = 'ovh' | 'proxmox';

/** `provider → "METHOD /path/{template}" → counts`. */
export type SchemaTally = Record<string, Record<string, { accepted: number; refused: number }>>;

const tally: SchemaTally = {};
const tallyFile = process.env.AUTOK8S_SCHEMA_TALLY_DIR ? join(process.env.AUTOK8S_SCHEMA_TALLY_DIR, `${process.pid}-${randomUUID()}.json`) : undefined;
let flushPending = false;
let exitHookSet = false;

export function recordSchemaCheck(provider: SchemaProvider, operation: string, accepted: boolean): void {
  const byOperation = (tally[provider] ??= {});
  const counts = (byOperation[operation] ??= { accepted: 0, refused: 0 });
  if (accepted) counts.accepted += 1;
  else counts.refused += 1;
  scheduleFlush();
}

function scheduleFlush(): void {
  if (!tallyFile) return;
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', flush);
  }
  if (flushPending) return;
  flushPending = true;
  setTimeout(flush, 200).unref();
}

function flush(): void {
  flushPending = false;
  if (!tallyFile) return;
  try {
    mkdirSync(dirname(tallyFile), { recursive: true });
    writeFileSync(tallyFile, JSON.stringify(tally));
  } catch {
    // A tally is a report, never a reason to fail the process that kept it.
  }
}

/** Sums every tally file in `dir` (the test run's global teardown prints this). */
export function readSchemaTallies(dir: string): SchemaTally {
  const sum: SchemaTally = {};
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return sum;
  }
  for (const name of names) {
    const one = JSON.parse(readFileSync(join(dir, name), 'utf8')) as SchemaTally;
    for (const [provider, ops] of Object.entries(one)) {
      for (const [op, c] of Object.entries(ops)) {
        const into = ((sum[provider] ??= {})[op] ??= { accepted: 0, refused: 0 });
        into.accepted += c.accepted;
        into.refused += c.refused;
      }
    }
  }
  return sum;
}

/**
 * One line per provider: requests accepted and refused, over how many operations, and which
 * operations saw refusals (the suite's tables of deliberately wrong requests send those; an
 * adapter's request refused would also fail the test that sent it).
 */
export function describeSchemaTallies(sum: SchemaTally): string[] {
  return Object.entries(sum)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([provider, ops]) => {
      const all = Object.values(ops);
      const accepted = all.reduce((n, c) => n + c.accepted, 0);
      const refused = all.reduce((n, c) => n + c.refused, 0);
      const where = Object.entries(ops)
        .filter(([, c]) => c.refused > 0)
        .map(([op, c]) => `${op} ×${c.refused}`)
        .join(', ');
      return `${provider} schema check: ${accepted} requests passed, ${refused} refused, over ${all.length} operations${where ? ` (refused: ${where})` : ''}`;
    });
}
