// The acceptedSpec activity over a fake Temporal client (a dependency, not the thing under
// test): a named generation is asked of the store once per worker, the current one every
// time, and every answer is validated and checked against the worker's policy again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createSpecActivities } from '../../activities/spec/load-spec';
import { parseSpec } from '../../core/spec/load';
import type { AcceptedSpec } from '../../core/spec/generations';
import { specGeneration } from '../../core/spec/validate';
import type { WorkerPolicy } from '../../core/spec/worker-policy';

const spec = parseSpec(readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8'));
const generation = specGeneration(spec);
const OPEN: WorkerPolicy = { secretEnvPrefixes: [''], pathRoots: ['/'], ovhEndpoints: [] };

function storeClient(answer: AcceptedSpec | undefined) {
  const queries: (string | undefined)[] = [];
  const client = { workflow: { getHandle: () => ({ query: async (_name: string, gen?: string) => (queries.push(gen), answer) }) } } as unknown as Client;
  return { client, queries };
}

describe('acceptedSpec', () => {
  it('asks the store once per named generation, and every time for the current one', async () => {
    const { client, queries } = storeClient({ generation, spec, acceptedAt: 0 });
    const act = createSpecActivities({ policy: OPEN, temporal: () => client });
    for (let i = 0; i < 3; i++) expect(await act.acceptedSpec(spec.metadata.name, generation)).toEqual({ generation, spec });
    await act.acceptedSpec(spec.metadata.name);
    await act.acceptedSpec(spec.metadata.name);
    expect(queries).toEqual([generation, undefined, undefined]);
  });

  it('checks a kept spec against the policy on every load', async () => {
    const { client } = storeClient({ generation, spec, acceptedAt: 0 });
    const narrow = createSpecActivities({ policy: { secretEnvPrefixes: [], pathRoots: [], ovhEndpoints: [] }, temporal: () => client });
    for (let i = 0; i < 2; i++) await expect(narrow.acceptedSpec(spec.metadata.name, generation)).rejects.toMatchObject({ type: 'SpecOutsidePolicy', nonRetryable: true });
  });

  it('an answer that is not a valid spec is bad input, never used', async () => {
    const broken = { ...spec, servers: 'none' } as unknown as typeof spec;
    const { client } = storeClient({ generation, spec: broken, acceptedAt: 0 });
    const act = createSpecActivities({ policy: OPEN, temporal: () => client });
    await expect(act.acceptedSpec(spec.metadata.name, generation)).rejects.toMatchObject({ type: 'BadSpec', nonRetryable: true });
  });

  it('a cluster without a store is an unknown cluster', async () => {
    const client = { workflow: { getHandle: () => ({ query: async () => Promise.reject(Object.assign(new Error('not found'), { name: 'WorkflowNotFoundError' })) }) } } as unknown as Client;
    const act = createSpecActivities({ policy: OPEN, temporal: () => client });
    await expect(act.acceptedSpec('nobody')).rejects.toMatchObject({ type: 'UnknownCluster', nonRetryable: true, message: expect.stringMatching(/autok8s apply -f/) });
  });

  it.each([
    { name: 'another cluster’s spec under this cluster’s store', answer: () => ({ generation: specGeneration({ ...spec, metadata: { name: 'other' } }), spec: { ...spec, metadata: { name: 'other' } }, acceptedAt: 0 }) },
    { name: 'a spec that does not hash to its generation', answer: () => ({ generation: 'g000000000000', spec, acceptedAt: 0 }) },
  ])('a store that answers $name is refused, and nothing is kept', async ({ answer }) => {
    const forged = answer();
    const { client, queries } = storeClient(forged);
    const act = createSpecActivities({ policy: OPEN, temporal: () => client });
    for (let i = 0; i < 2; i++) await expect(act.acceptedSpec(spec.metadata.name, forged.generation)).rejects.toMatchObject({ type: 'BadSpec', nonRetryable: true, message: expect.stringMatching(/not its accepted generation/) });
    expect(queries).toHaveLength(2);
  });

  it('gives a provisionServer run its server’s facts, not the spec, and refuses a server the spec does not have', async () => {
    const { client } = storeClient({ generation, spec, acceptedAt: 0 });
    const act = createSpecActivities({ policy: OPEN, temporal: () => client });
    const first = spec.servers[0];
    expect(await act.acceptedServer(spec.metadata.name, generation, first.name)).toEqual({ generation, ovhService: first.ovhService, roles: (['lb', 'controlPlane', 'worker'] as const).filter((r) => first.vms[r] !== undefined) });
    await expect(act.acceptedServer(spec.metadata.name, generation, 'srv-z')).rejects.toMatchObject({ type: 'BadInput', nonRetryable: true, message: expect.stringMatching(new RegExp(`srv-z is not in the spec ${generation}.*${spec.servers.map((x) => x.name).join(', ')}`)) });
  });
});
