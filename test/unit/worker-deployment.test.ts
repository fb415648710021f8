// A worker's Worker Deployment Version: the build ID that tells builds apart, the names the
// server would refuse, who makes a version current, and each workflow's versioning behaviour.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as workflows from '../../workflows';
import { decideCurrentVersion } from '../../worker/current-version';
import { buildIdOf, deploymentVersionFromEnv, deploymentVersionProblem, gitCommitOf } from '../../worker/deployment';

describe('buildIdOf', () => {
  it.each([
    { name: 'a checkout: package version and commit', o: { packageVersion: '0.1.0', commit: 'd604235' }, buildId: '0.1.0+d604235', commitKnown: true },
    { name: 'AUTOK8S_BUILD_ID wins over the checkout', o: { override: 'img-42', packageVersion: '0.1.0', commit: 'd604235' }, buildId: 'img-42', commitKnown: true },
    { name: 'AUTOK8S_BUILD_ID is trimmed', o: { override: ' img-42\n', packageVersion: '0.1.0' }, buildId: 'img-42', commitKnown: true },
    { name: 'an empty AUTOK8S_BUILD_ID counts as unset', o: { override: '  ', packageVersion: '0.1.0', commit: 'abc1234' }, buildId: '0.1.0+abc1234', commitKnown: true },
    { name: 'no checkout and no override: the package version alone, flagged', o: { packageVersion: '0.1.0' }, buildId: '0.1.0', commitKnown: false },
  ])('$name', ({ o, buildId, commitKnown }) => {
    expect(buildIdOf(o)).toEqual({ buildId, commitKnown });
  });
});

describe('deploymentVersionProblem', () => {
  it.each([
    { name: 'the default name and a build ID are fine', v: { deploymentName: 'autok8s', buildId: '0.1.0+abc1234' }, problem: undefined },
    { name: 'a dot in the deployment name is refused, naming the variable', v: { deploymentName: 'autok8s.prod', buildId: '1' }, problem: /deployment name "autok8s.prod" \(AUTOK8S_DEPLOYMENT_NAME\) holds a dot/ },
    { name: 'a reserved deployment name is refused', v: { deploymentName: '__autok8s', buildId: '1' }, problem: /starts with __, which Temporal reserves/ },
    { name: 'a reserved build ID is refused, naming the variable', v: { deploymentName: 'autok8s', buildId: '__1' }, problem: /build ID "__1" \(AUTOK8S_BUILD_ID\) starts with __/ },
    { name: 'an empty build ID is refused', v: { deploymentName: 'autok8s', buildId: '' }, problem: /build ID \(AUTOK8S_BUILD_ID\) is empty/ },
  ])('$name', ({ v, problem }) => {
    if (problem === undefined) expect(deploymentVersionProblem(v)).toBeUndefined();
    else expect(deploymentVersionProblem(v)).toMatch(problem);
  });
});

describe('gitCommitOf', () => {
  const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
  const repo = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak8s-git-'));
    git(dir, 'init', '-q');
    writeFileSync(join(dir, 'package.json'), '{ "version": "2.3.4" }\n');
    git(dir, 'add', '.');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'one');
    return dir;
  };

  it('reads the commit checked out at the top of a repository', () => {
    const dir = repo();
    expect(gitCommitOf(dir)).toBe(git(dir, 'rev-parse', '--short', 'HEAD'));
  });

  it("gives nothing for a copy inside someone else's repository (it would take their commit)", () => {
    const inner = join(repo(), 'node_modules', 'autok8s');
    mkdirSync(inner, { recursive: true });
    expect(gitCommitOf(inner)).toBeUndefined();
  });

  it('gives nothing outside any repository', () => {
    expect(gitCommitOf(mkdtempSync(join(tmpdir(), 'ak8s-nogit-')))).toBeUndefined();
  });

  it('deploymentVersionFromEnv: package version and commit of the project, unless the environment names them', () => {
    const dir = repo();
    expect(deploymentVersionFromEnv({}, dir)).toEqual({ deploymentName: 'autok8s', buildId: `2.3.4+${git(dir, 'rev-parse', '--short', 'HEAD')}`, commitKnown: true });
    expect(deploymentVersionFromEnv({ AUTOK8S_DEPLOYMENT_NAME: 'autok8s-gra', AUTOK8S_BUILD_ID: 'img-7' }, dir)).toEqual({ deploymentName: 'autok8s-gra', buildId: 'img-7', commitKnown: true });
  });
});

describe('decideCurrentVersion', () => {
  it.each([
    { name: 'a first worker of a deployment with no current version makes itself current', policy: 'if-none', current: undefined, decision: 'make-current' },
    { name: 'a worker of the current build has nothing to do', policy: 'if-none', current: 'B', decision: 'already-current' },
    { name: 'a new build in production waits for the operator', policy: 'if-none', current: 'A', decision: 'another-is-current' },
    { name: "the dev stack's worker takes over from an earlier build", policy: 'always', current: 'A', decision: 'make-current' },
    { name: "the dev stack's worker of the current build has nothing to do", policy: 'always', current: 'B', decision: 'already-current' },
  ] as const)('$name', ({ policy, current, decision }) => {
    expect(decideCurrentVersion(policy, current, 'B')).toBe(decision);
  });
});

describe('versioning behaviours', () => {
  const behaviourOf = (name: keyof typeof workflows) => (workflows[name] as { workflowDefinitionOptions?: { versioningBehavior?: string } }).workflowDefinitionOptions?.versioningBehavior;

  it('the long-lived watcher and lock move to the current version; every other workflow stays on the build that started it', () => {
    const longLived = ['clusterWatcher', 'clusterLock', 'clusterSpec'];
    for (const name of Object.keys(workflows) as (keyof typeof workflows)[]) {
      expect({ name, behaviour: behaviourOf(name) }).toEqual({ name, behaviour: longLived.includes(name) ? 'AUTO_UPGRADE' : 'PINNED' });
    }
    expect(Object.keys(workflows)).toEqual(expect.arrayContaining(longLived));
  });
});
