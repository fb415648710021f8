// Test tiers that need something npm does not install (root and the Debian LB programs for
// network namespaces, headless Chromium, ssh-keygen, the Go talosctl forwarder) skip on a
// machine without it, with the reason in their title. In CI they must run: .ci/run installs
// what they need, so a prerequisite still missing there means the install failed, and that
// must turn the run red instead of leaving it green with whole tiers skipped.

/** CI=true (or any value but "false"/"0"), as CI services and .ci/run set it. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export class MissingInCiError extends Error {
  override readonly name = 'MissingInCiError';
}

/**
 * Whether a tier skips: false when nothing is `missing`; true when something is, outside CI;
 * under CI a missing prerequisite throws (failing the test file) instead of skipping.
 * @param missing why the tier cannot run here (what is missing and how to install it), or undefined
 * @param tier the tier's name, for the CI error
 */
export function requireInCi(missing: string | undefined, tier: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (missing === undefined) return false;
  if (inCi(env)) {
    throw new MissingInCiError(`${tier} must run in CI (CI=${env.CI}), but ${missing}. .ci/run installs its prerequisites: see what its log says failed.`);
  }
  return true;
}
