// Determinism guard: every recorded history under test/histories/ is replayed against the
// current workflow code. A change that would break running workflows fails here; make
// such changes with patched() (README, "Changing a workflow").
// Record new histories with: RECORD_HISTORIES=1 npx vitest run test/workflows
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../../worker/bundle';
import { installQuietRuntime } from '../../worker/worker';

const DIR = join(__dirname, '..', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('recorded histories replay against the current workflow code', () => {
  it('has recorded histories for every workflow type', () => {
    const types = new Set(files.map((f) => f.split('-')[0]));
    expect([...types]).toEqual(expect.arrayContaining(['failoverIp', 'bootstrapCluster', 'replaceNode', 'healthCheck']));
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    installQuietRuntime();
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file)).resolves.toBeUndefined();
  });
});
