// Which triggers of failoverIp join the open run and which wait for it (client/start.ts).
import { describe, expect, it } from 'vitest';
import { mustQueueBehind } from '../../client/start';

describe('mustQueueBehind', () => {
  it.each([
    ['a trigger without a target joins a run for any target', undefined, 'srv-a', false],
    ['a trigger without a target joins a run without one', undefined, null, false],
    ['a trigger for srv-b joins a run for srv-b (a storm)', 'srv-b', 'srv-b', false],
    ['a trigger for srv-b waits for a run for srv-a (the previous MASTER)', 'srv-b', 'srv-a', true],
    ['a trigger for srv-b waits for a run without a target (it may choose another)', 'srv-b', null, true],
    ['a trigger for srv-b waits for a run whose target is not recorded', 'srv-b', undefined, true],
  ] as const)('%s', (_name, requested, joined, expected) => {
    expect(mustQueueBehind(requested, joined)).toBe(expected);
  });
});
