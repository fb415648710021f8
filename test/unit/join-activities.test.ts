// Two providers defining an activity of the same name: a compile error (tsc runs over the
// tests in CI) and, for sets whose names are only known at run time, an error at start-up.
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { joinActivities } from '../../activities/join';
import { createSecretResolver } from '../../activities/secrets';

describe('joinActivities', () => {
  it('joins disjoint sets into one with every activity', () => {
    const joined = joinActivities({ a: async () => 1 }, { b: async () => 2 });
    expect(Object.keys(joined).sort()).toEqual(['a', 'b']);
  });

  it('refuses a name defined by two providers, at compile time and at run time', () => {
    const ovh = { getIpRouting: async () => 'ovh' };
    const other = { getIpRouting: async () => 'other' };
    // @ts-expect-error -- the clash must not compile
    expect(() => joinActivities(ovh, other)).toThrow('activity getIpRouting is defined by two providers');
    const unknownAtCompileTime: Record<string, () => Promise<string>> = JSON.parse('{}');
    unknownAtCompileTime.getIpRouting = other.getIpRouting;
    expect(() => joinActivities(ovh, unknownAtCompileTime as object)).toThrow(/getIpRouting/);
  });

  it('builds the worker’s whole set without a clash', () => {
    const set = createActivities({ secrets: createSecretResolver({}) });
    expect(Object.keys(set)).toEqual(expect.arrayContaining(['ensureVm', 'getIpRouting', 'pushLbConfigs', 'applyMachineConfig', 'observeCluster', 'reportToWatcher', 'acceptedSpec', 'checkSpecPolicy', 'probeLb']));
  });
});
