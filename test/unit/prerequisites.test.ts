import { describe, expect, it } from 'vitest';
import { inCi, MissingInCiError, requireInCi } from '../helpers/prerequisites';

describe('requireInCi', () => {
  it.each([
    { name: 'a tier with everything it needs runs, in CI or not', missing: undefined, env: { CI: 'true' }, skips: false },
    { name: 'a tier with everything it needs runs outside CI', missing: undefined, env: {}, skips: false },
    { name: 'a tier missing a program skips outside CI', missing: 'keepalived is not installed', env: {}, skips: true },
    { name: 'CI=false is not CI: the tier skips', missing: 'keepalived is not installed', env: { CI: 'false' }, skips: true },
  ])('$name', ({ missing, env, skips }) => {
    expect(requireInCi(missing, 'real keepalived', env)).toBe(skips);
  });

  it.each(['true', '1', 'yes'])('under CI=%s, a tier missing a program fails, naming the tier and what is missing', (ci) => {
    expect(() => requireInCi('keepalived is not installed (apt-get install -y keepalived)', 'VRRP between real keepalived', { CI: ci })).toThrow(MissingInCiError);
    expect(() => requireInCi('keepalived is not installed (apt-get install -y keepalived)', 'VRRP between real keepalived', { CI: ci })).toThrow(
      /^VRRP between real keepalived must run in CI .*but keepalived is not installed \(apt-get install -y keepalived\)/,
    );
  });

  it.each([
    { env: {}, ci: false },
    { env: { CI: '' }, ci: false },
    { env: { CI: '0' }, ci: false },
    { env: { CI: 'FALSE' }, ci: false },
    { env: { CI: 'true' }, ci: true },
    { env: { CI: '1' }, ci: true },
  ])('CI=$env.CI is CI: $ci', ({ env, ci }) => {
    expect(inCi(env)).toBe(ci);
  });
});
