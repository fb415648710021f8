// Writing a recorded history under test/histories/. A recorded history is the baseline the
// replay test holds every later workflow change to, so recording never replaces one: a run
// that re-records under an existing name would silently move the baseline to whatever the
// code does today, which is exactly what the replay test is there to catch.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './paths';

export class HistoryExistsError extends Error {
  override readonly name = 'HistoryExistsError';
}

export const HISTORIES_DIR = join(ROOT, 'test', 'histories');

/** Throws HistoryExistsError when `<dir>/<name>.json` exists: checked before a history is fetched. */
export function refuseExistingHistory(dir: string, name: string): void {
  const path = join(dir, `${name}.json`);
  if (existsSync(path)) throw historyExists(path);
}

/** Writes `<dir>/<name>.json`; throws HistoryExistsError when that file is already there. */
export function saveRecordedHistory(dir: string, name: string, json: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  try {
    // 'wx': the check and the write are one step, so two recording runs cannot both write.
    writeFileSync(path, json.trim() + '\n', { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw historyExists(path);
    throw err;
  }
  return path;
}

function historyExists(path: string): HistoryExistsError {
  const shown = relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path);
  return new HistoryExistsError(
    `RECORD_HISTORIES=1 will not overwrite ${shown}: it is the baseline the replay test checks running workflows against. ` +
      `If the workflow changed deliberately and this history must be re-baselined, delete the file yourself (git rm ${shown}) and record again; ` +
      `otherwise record under a new name.`,
  );
}
