// Recording a history never replaces one: the recorded histories are the baselines the replay
// test holds workflow changes to, and a silent overwrite moves the baseline.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HistoryExistsError, saveRecordedHistory } from '../helpers/recorded-history';
import { maybeRecordHistory } from '../helpers/temporal';

const freshDir = () => mkdtempSync(join(tmpdir(), 'ak8s-histories-'));

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('saveRecordedHistory', () => {
  it('writes a history under a new name', () => {
    const dir = freshDir();
    const path = saveRecordedHistory(dir, 'failoverIp-move', '{"events":[1]}');
    expect(path).toBe(join(dir, 'failoverIp-move.json'));
    expect(readFileSync(path, 'utf8')).toBe('{"events":[1]}\n');
  });

  it('refuses to overwrite a history already recorded under that name, says how to re-baseline, and leaves the old file as it was', () => {
    const dir = freshDir();
    saveRecordedHistory(dir, 'failoverIp-move', '{"events":["old"]}');
    let refusal: unknown;
    try {
      saveRecordedHistory(dir, 'failoverIp-move', '{"events":["new"]}');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(HistoryExistsError);
    expect((refusal as Error).message).toContain(join(dir, 'failoverIp-move.json'));
    expect((refusal as Error).message).toMatch(/will not overwrite .*delete the file yourself/);
    expect(readFileSync(join(dir, 'failoverIp-move.json'), 'utf8')).toBe('{"events":["old"]}\n');
  });
});

describe('maybeRecordHistory', () => {
  it('with RECORD_HISTORIES=1, refuses an existing name before it fetches anything', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'replaceNode-worker.json'), 'the baseline\n');
    vi.stubEnv('RECORD_HISTORIES', '1');
    // No such workflow exists: reaching the fetch would fail differently than the refusal.
    await expect(maybeRecordHistory({ workflowId: 'no-such-workflow/recorded-history-test' }, 'replaceNode-worker', dir)).rejects.toThrow(HistoryExistsError);
    expect(readFileSync(join(dir, 'replaceNode-worker.json'), 'utf8')).toBe('the baseline\n');
  });

  it('without RECORD_HISTORIES, records nothing', async () => {
    const dir = freshDir();
    vi.stubEnv('RECORD_HISTORIES', '');
    await maybeRecordHistory({ workflowId: 'no-such-workflow/recorded-history-test' }, 'replaceNode-worker', dir);
    expect(readdirSync(dir)).toEqual([]);
  });
});
