// Activities take a SpecRef, resolved on the worker (activities/spec/spec-ref.ts) by the real
// resolver over a fake Temporal client standing in for the spec stores (a dependency, not the
// thing under test). The refs are what an attacker who can start workflows or forge activity
// inputs controls: every one that does not name an accepted spec of its own cluster, inside
// this worker's policy, must fail for good before the activity body runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createActivities, type SpecTakingActivities } from '../../activities';
import { createSpecResolver } from '../../activities/spec/load-spec';
import { ovhPart, withPartRefs, withSpecRefs } from '../../activities/spec/spec-ref';
import type { AcceptedSpec } from '../../core/spec/generations';
import { parseSpec } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { specGeneration } from '../../core/spec/validate';
import type { WorkerPolicy } from '../../core/spec/worker-policy';
import { workflowIds } from '../../core/workflow-ids';

const spec = parseSpec(readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8'));
const cluster = spec.metadata.name;
const generation = specGeneration(spec);
const other: ClusterSpec = { ...spec, metadata: { name: 'other' } };
const OPEN: WorkerPolicy = { secretEnvPrefixes: [''], pathRoots: ['/'], ovhEndpoints: [] };
const NARROW: WorkerPolicy = { secretEnvPrefixes: [], pathRoots: [], ovhEndpoints: [] };

/** Spec stores by workflow ID, each answering its kept generations; every query recorded. */
function stores(kept: Record<string, ClusterSpec[]>) {
  const queries: string[] = [];
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        query: async (_name: string, gen?: string): Promise<AcceptedSpec | undefined> => {
          queries.push(`${id} ${gen ?? 'current'}`);
          const specs = Object.entries(kept).find(([c]) => workflowIds.spec(c) === id)?.[1];
          if (!specs) throw Object.assign(new Error('not found'), { name: 'WorkflowNotFoundError' });
          const found = gen === undefined ? specs.at(-1) : specs.find((s) => specGeneration(s) === gen);
          return found && { generation: specGeneration(found), spec: found, acceptedAt: 0 };
        },
      }),
    },
  } as unknown as Client;
  return { client, queries };
}

/** An activity set of one spec-taking activity that records the spec each call worked with. */
function recording(kept: Record<string, ClusterSpec[]>, policy = OPEN) {
  const seen: string[] = [];
  const store = stores(kept);
  const resolver = createSpecResolver({ policy, temporal: () => store.client });
  const set = withSpecRefs(resolver, { async nameOf(s: ClusterSpec, suffix: string) { seen.push(s.metadata.name); return `${s.metadata.name}${suffix}`; }, async untouched(x: string) { return x; } }, ['nameOf']);
  return { set, seen, queries: store.queries, resolver };
}

describe('activities by spec reference', () => {
  it('the worker registers no activity that takes the whole spec, except the store’s check of the spec being applied', () => {
    expectTypeOf<SpecTakingActivities>().toEqualTypeOf<'checkSpecPolicy'>();
  });

  it('resolves a ref from the worker’s cache: the store is asked once, however many calls', async () => {
    const { set, seen, queries } = recording({ [cluster]: [spec] });
    for (let i = 0; i < 3; i++) expect(await set.nameOf({ cluster, generation }, '!')).toBe(`${cluster}!`);
    expect(await set.untouched('as it was')).toBe('as it was');
    expect(seen).toEqual([cluster, cluster, cluster]);
    expect(queries).toEqual([`${workflowIds.spec(cluster)} ${generation}`]);
  });

  it('a ref of a generation its store does not keep fails for good, naming the cluster and generation and what to do', async () => {
    const { set, seen } = recording({ [cluster]: [spec] });
    const unknown = 'g0123456789ab';
    await expect(set.nameOf({ cluster, generation: unknown }, '')).rejects.toMatchObject({
      type: 'UnknownCluster',
      nonRetryable: true,
      message: expect.stringMatching(new RegExp(`${cluster} has no accepted spec of generation ${unknown}.*start the operation again`)),
    });
    expect(seen).toEqual([]);
  });

  it('a ref to another cluster with this cluster’s generation is not served from the cache', async () => {
    const { set, seen, queries } = recording({ [cluster]: [spec], other: [other] });
    await set.nameOf({ cluster, generation }, '');
    await expect(set.nameOf({ cluster: 'other', generation }, '')).rejects.toMatchObject({ type: 'UnknownCluster', nonRetryable: true });
    expect(queries.at(-1)).toBe(`${workflowIds.spec('other')} ${generation}`);
    expect(seen).toEqual([cluster]);
  });

  it('a ref to a cluster whose store answers another cluster’s spec is refused', async () => {
    // A store started by hand that holds this cluster's spec under another cluster's name.
    const { set, seen } = recording({ other: [spec] });
    await expect(set.nameOf({ cluster: 'other', generation }, '')).rejects.toMatchObject({ type: 'BadSpec', nonRetryable: true, message: expect.stringMatching(/not its accepted generation/) });
    expect(seen).toEqual([]);
  });

  it('a spec outside this worker’s policy is refused on every call, kept or not', async () => {
    const { set, seen } = recording({ [cluster]: [spec] }, NARROW);
    for (let i = 0; i < 2; i++) await expect(set.nameOf({ cluster, generation }, '')).rejects.toMatchObject({ type: 'SpecOutsidePolicy', nonRetryable: true });
    expect(seen).toEqual([]);
  });

  it.each([
    { name: 'a whole spec where the ref goes', ref: spec, field: /apiVersion, kind, metadata.*not an input of specRef/ },
    { name: 'a ref without a generation', ref: { cluster }, field: /generation: is required/ },
    { name: 'a generation that is a path', ref: { cluster, generation: '../../etc/passwd' }, field: /generation: must be a spec generation/ },
    { name: 'a cluster name that is not a DNS label', ref: { cluster: 'a/../b', generation }, field: /cluster:/ },
    { name: 'an extra field', ref: { cluster, generation, spec }, field: /spec: not an input of specRef/ },
    { name: 'no ref at all', ref: undefined, field: /\(input\)/ },
  ])('$name is bad input naming the field, before the store is asked', async ({ ref, field }) => {
    const { set, seen, queries } = recording({ [cluster]: [spec] });
    const failure = await (set.nameOf as (ref: unknown, suffix: string) => Promise<string>)(ref, '').catch((err: unknown) => err);
    expect(failure).toMatchObject({ type: 'BadInput', nonRetryable: true, message: expect.stringMatching(/^nameOf takes a spec reference \{cluster, generation\}/) });
    expect((failure as Error).message).toMatch(field);
    expect([seen, queries]).toEqual([[], []]);
  });

  it('the worker’s own activities refuse a spec, or its OVH part with an endpoint of the caller’s choosing, in their input', async () => {
    const activities = createActivities({ policy: OPEN, temporal: () => stores({ [cluster]: [spec] }).client });
    await expect((activities.vmStatuses as (ref: unknown, server: string) => Promise<unknown>)(spec, 'srv-a')).rejects.toMatchObject({ type: 'BadInput', nonRetryable: true, message: expect.stringMatching(/^vmStatuses takes a spec reference/) });
    const ovh = { ...spec.ovh, endpoint: 'https://collector.example/1.0' };
    await expect((activities.getIpRouting as (ref: unknown, ip: string) => Promise<unknown>)(ovh, '203.0.113.10')).rejects.toMatchObject({ type: 'BadInput', nonRetryable: true, message: expect.stringMatching(/^getIpRouting takes a spec reference/) });
  });

  it('an activity that takes a part of the spec gets that part of the accepted spec', async () => {
    const store = stores({ [cluster]: [spec] });
    const set = withPartRefs(createSpecResolver({ policy: OPEN, temporal: () => store.client }), ovhPart, { async endpointOf(ovh: ClusterSpec['ovh']) { return ovh.endpoint; } }, ['endpointOf']);
    expect(await set.endpointOf({ cluster, generation })).toBe(spec.ovh.endpoint);
  });
});

describe('the current spec of a watched cluster', () => {
  it('asks the store only when the store’s stamp moves', async () => {
    const kept = { [cluster]: [spec] };
    const { resolver, queries } = recording(kept);
    expect((await resolver.current(cluster, 'run-1:10')).generation).toBe(generation);
    expect((await resolver.current(cluster, 'run-1:10')).generation).toBe(generation);
    const next: ClusterSpec = { ...spec, health: { ...spec.health, interval: '15s' } };
    kept[cluster].push(next);
    expect((await resolver.current(cluster, 'run-1:12')).generation).toBe(specGeneration(next));
    expect(queries).toEqual([`${workflowIds.spec(cluster)} current`, `${workflowIds.spec(cluster)} current`]);
  });

  it('without a stamp (no store to describe) asks every time', async () => {
    const { resolver, queries } = recording({ [cluster]: [spec] });
    await resolver.current(cluster, undefined);
    await resolver.current(cluster, undefined);
    expect(queries).toHaveLength(2);
  });
});
