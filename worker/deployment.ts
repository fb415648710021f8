// Which Worker Deployment Version a worker is (Temporal Worker Deployment Versioning): a
// deployment name and a build ID. Runs of short operations are pinned to the version that
// started them (workflows/versioning.ts), so the build ID must change whenever the workflow
// code can: package version plus git commit. README, "Changing a workflow".
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerDeploymentVersion } from '@temporalio/common';

export const DEFAULT_DEPLOYMENT_NAME = 'autok8s';

/** The project's own directory (package.json, and .git in a checkout). */
const PROJECT_ROOT = join(__dirname, '..');

export interface DeploymentVersionOf extends WorkerDeploymentVersion {
  /** False when the build ID is the package version alone: two builds of one version would share it. */
  commitKnown: boolean;
}

/**
 * The build ID: AUTOK8S_BUILD_ID when set (an image built without .git passes it in), else
 * `<package version>+<commit>`, else the package version alone.
 */
export function buildIdOf(o: { override?: string; packageVersion: string; commit?: string }): { buildId: string; commitKnown: boolean } {
  const override = o.override?.trim();
  if (override) return { buildId: override, commitKnown: true };
  if (o.commit) return { buildId: `${o.packageVersion}+${o.commit}`, commitKnown: true };
  return { buildId: o.packageVersion, commitKnown: false };
}

/**
 * Refuses names the server would refuse later with a less helpful message (checked against
 * the dev server: it writes a version as `<deployment>.<build ID>`, so a deployment name
 * cannot hold a dot, and it reserves names starting with `__`).
 */
export function deploymentVersionProblem(v: WorkerDeploymentVersion): string | undefined {
  if (!v.deploymentName) return 'the deployment name (AUTOK8S_DEPLOYMENT_NAME) is empty: leave it unset for "autok8s", or name the deployment';
  if (!v.buildId) return 'the build ID (AUTOK8S_BUILD_ID) is empty: leave it unset for the package version and commit, or name the build';
  if (v.deploymentName.includes('.')) return `the deployment name "${v.deploymentName}" (AUTOK8S_DEPLOYMENT_NAME) holds a dot, which Temporal does not allow there: use letters, digits, - or _`;
  if (v.deploymentName.startsWith('__')) return `the deployment name "${v.deploymentName}" (AUTOK8S_DEPLOYMENT_NAME) starts with __, which Temporal reserves`;
  if (v.buildId.startsWith('__')) return `the build ID "${v.buildId}" (AUTOK8S_BUILD_ID) starts with __, which Temporal reserves`;
  return undefined;
}

/**
 * The commit checked out in `dir`, or undefined when `dir` is not the top of a git checkout
 * (an installed copy inside someone else's repository must not take that repository's
 * commit) or git is missing.
 */
export function gitCommitOf(dir: string): string | undefined {
  try {
    const [top, commit] = execFileSync('git', ['-C', dir, 'rev-parse', '--show-toplevel', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    })
      .trim()
      .split('\n');
    return commit && realpathSync(top) === realpathSync(dir) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/** This worker's deployment version, from AUTOK8S_DEPLOYMENT_NAME, AUTOK8S_BUILD_ID and the checkout. */
export function deploymentVersionFromEnv(env: NodeJS.ProcessEnv = process.env, root = PROJECT_ROOT): DeploymentVersionOf {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const override = env.AUTOK8S_BUILD_ID?.trim();
  const { buildId, commitKnown } = buildIdOf({ override, packageVersion: version, commit: override ? undefined : gitCommitOf(root) });
  const deploymentName = env.AUTOK8S_DEPLOYMENT_NAME?.trim() || DEFAULT_DEPLOYMENT_NAME;
  return { deploymentName, buildId, commitKnown };
}
