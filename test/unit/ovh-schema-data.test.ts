// The extracted OVH schema facts (sandbox/ovh/schema/*.json) against the simulator's routes
// and the value formats the check applies.
import { describe, expect, it } from 'vitest';
import { OVH_ROUTES } from '../../sandbox/ovh/routes';
import { jsonValueProblem, OVH_SCHEMAS, textValueProblem } from '../../sandbox/ovh/schema/check';

describe('the extracted schema', () => {
  it('names its source for every API', () => {
    for (const schema of OVH_SCHEMAS) expect(schema.provenance).toMatchObject({ repo: expect.any(String), commit: expect.stringMatching(/^[0-9a-f]{40}$/), date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
  });

  it('defines every operation the simulator serves, so no simulated route answers what OVH would refuse as an unknown URL', () => {
    const defined = new Set(OVH_SCHEMAS.flatMap((s) => s.operations.map((o) => `${o.method} ${o.path}`)));
    expect(OVH_ROUTES.map((r) => `${r.method} ${r.template}`).filter((op) => !defined.has(op))).toEqual([]);
  });

  it('marks the legacy vRack call as OVH does', () => {
    const op = OVH_SCHEMAS.flatMap((s) => s.operations).find((o) => o.method === 'POST' && o.path === '/vrack/{serviceName}/dedicatedServer');
    expect(op?.description).toMatch(/LEGACY/);
  });
});

describe('value formats', () => {
  it.each([
    { name: 'a long on the wire is digits only', type: 'long', text: '4200001', ok: true },
    { name: 'a long is not a decimal', type: 'long', text: '42.5', ok: false },
    { name: 'an ipBlock may be a bare address', type: 'ipBlock', text: '203.0.113.10', ok: true },
    { name: 'an ipBlock may be a CIDR', type: 'ipBlock', text: '203.0.113.10/32', ok: true },
    { name: 'an ipBlock prefix cannot pass 32 on IPv4', type: 'ipBlock', text: '203.0.113.10/33', ok: false },
    { name: 'an IPv6 block is an ipBlock', type: 'ipBlock', text: '2001:db8::/56', ok: true },
    { name: 'a host name is no ipBlock', type: 'ipBlock', text: 'lb.example', ok: false },
    { name: 'a uuid is 8-4-4-4-12 hex', type: 'uuid', text: '5e1f0000-0000-4000-8000-0000001e8483', ok: true },
    { name: 'an interface name is no uuid', type: 'uuid', text: 'eth0', ok: false },
    { name: 'an enum value from the schema passes', type: 'ip.TaskStatusEnum', text: 'customerError', ok: true },
    { name: 'a value outside the enum fails', type: 'ip.TaskStatusEnum', text: 'failed', ok: false },
  ])('$name', ({ type, text, ok }) => {
    expect(textValueProblem(type, text) === undefined).toBe(ok);
  });

  it('a JSON body long must be an integer number, a string must be a string', () => {
    expect(jsonValueProblem('long', 42)).toBeUndefined();
    expect(jsonValueProblem('long', '42')).toMatch(/long/);
    expect(jsonValueProblem('string', 42)).toMatch(/string/);
    expect(jsonValueProblem('boolean', 'true')).toMatch(/boolean/);
  });
});
