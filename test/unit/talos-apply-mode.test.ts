import { describe, expect, it } from 'vitest';
import { decideApplyMode, type ApplyLook } from '../../core/talos/apply-mode';

describe('decideApplyMode', () => {
  const cases: [string, ApplyLook, 'authenticated' | 'maintenance' | 'refuse'][] = [
    ['a configured node that trusts our talosconfig gets the authenticated apply', { authenticated: 'trusted', newMachine: false, configuredBefore: true }, 'authenticated'],
    ['even a node the workflow thinks is new is spoken to authenticated when it trusts us', { authenticated: 'trusted', newMachine: true, configuredBefore: false }, 'authenticated'],
    ['a machine the workflow has just created, refusing our credentials, is in maintenance', { authenticated: 'untrusted', newMachine: true, configuredBefore: true }, 'maintenance'],
    ['a node autok8s never configured, refusing our credentials, is in maintenance', { authenticated: 'untrusted', newMachine: false, configuredBefore: false }, 'maintenance'],
    ['a node autok8s configured before that now refuses our credentials is refused', { authenticated: 'untrusted', newMachine: false, configuredBefore: true }, 'refuse'],
  ];
  it.each(cases)('%s', (_name, look, via) => {
    expect(decideApplyMode(look).via).toBe(via);
  });

  it('says what to do when it refuses', () => {
    const mode = decideApplyMode({ authenticated: 'untrusted', newMachine: false, configuredBefore: true });
    expect(mode).toMatchObject({ via: 'refuse', why: expect.stringMatching(/not sent unauthenticated.*autok8s replace/) });
  });
});
