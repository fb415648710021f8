// docker-compose.yml and the Dockerfile, checked without Docker (none runs here):
//  - the Compose Specification JSON Schema and dclint's safety rules (dclint bundles both);
//  - references the schema cannot see (compose-checks.ts), each check also shown failing;
//  - agreement with the project: the search attributes the code uses, the task queue, the
//    README's set-up commands, package.json's bin, the worker command, the example spec.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, matchesGlob } from 'node:path';
import { DCLinter } from 'dclint';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../core/search-attributes';
import { parseSpec } from '../../core/spec/load';
import { TASK_QUEUE } from '../../core/workflow-ids';
import { ROOT } from '../helpers/paths';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';
import {
  composeProblems,
  dockerArgDefaults,
  dockerEnv,
  dockerInstructions,
  environmentOf,
  interpolate,
  mountsOf,
  startOrder,
  variablesIn,
  type ComposeFile,
} from './compose-checks';

const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile;
const dockerfile = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  engines: { node: string };
};
const exists = (relative: string) => existsSync(join(ROOT, relative));
const service = (name: string) => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
/** A container path → the host path it comes from (with the file's defaults), for a service's bind mounts. */
const hostPathOf = (serviceName: string, containerPath: string): string | undefined => {
  const mount = mountsOf(service(serviceName)).find((m) => m.kind === 'bind' && (containerPath === m.target || containerPath.startsWith(`${m.target}/`)));
  return mount && join(ROOT, interpolate(mount.source!, {}), containerPath.slice(mount.target.length));
};

/** dclint with the Compose schema (always on) and its rules that guard safety and correctness; style rules are off. */
function lint(file: string) {
  const linter = new DCLinter({
    rules: {
      'no-build-and-image': 2,
      'no-duplicate-container-names': 2,
      'no-duplicate-exported-ports': 2,
      'no-unbound-port-interfaces': 2,
      'no-version-field': 2,
      'require-project-name-field': 2,
      'service-image-require-explicit-tag': 2,
      'require-quotes-in-ports': [2, { quoteType: 'double' }],
      // Style: services are listed in start order and keys by meaning, on purpose.
      'service-keys-order': 0,
      'services-alphabetical-order': 0,
      'service-dependencies-alphabetical-order': 0,
      'service-ports-alphabetical-order': 0,
      'top-level-properties-order': 0,
      'no-quotes-in-volumes': 0,
      'service-container-name-regex': 0,
    },
    quiet: true,
    debug: false,
    exclude: [],
  });
  return linter.lintFiles([file], false)[0];
}

function tempCopy(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ak8s-compose-')), name);
  writeFileSync(file, text);
  return file;
}

describe('docker-compose.yml against the Compose Specification', () => {
  it('is valid for the Compose JSON Schema and passes the safety rules', () => {
    const result = lint(COMPOSE_FILE);
    expect(result.messages.map((m) => `${m.line}: ${m.rule}: ${m.message}`)).toEqual([]);
  });

  it('the same linter rejects a file that breaks the schema or a rule (the check has teeth)', () => {
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services['temporal-ui'].depends_on = { temporal: { condition: 'service_ready' } };
    const schema = lint(tempCopy('docker-compose.yml', stringify(broken)));
    expect(schema.messages.map((m) => m.rule)).toContain('invalid-schema');

    const unpinned = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    unpinned.services['temporal-ui'].image = 'temporalio/ui:latest';
    unpinned.services['temporal-ui'].ports = ['8080:8080'];
    const rules = lint(tempCopy('docker-compose.yml', stringify(unpinned)));
    // (stringify also drops the quotes around ports, which require-quotes-in-ports reports too.)
    expect(rules.messages.map((m) => m.rule)).toEqual(expect.arrayContaining(['no-unbound-port-interfaces', 'service-image-require-explicit-tag']));
  });
});

describe('docker-compose.yml references', () => {
  it('has no dangling service, volume or file reference, no variable without a default, ports on loopback only', () => {
    expect(composeProblems(compose, exists)).toEqual([]);
  });

  it.each([
    ['a service without image or build', (c: ComposeFile) => delete c.services['temporal-ui'].image, /temporal-ui has neither image nor build/],
    ['a dependency on a missing service', (c: ComposeFile) => (c.services['temporal-ui'].depends_on = { temporall: { condition: 'service_healthy' } }), /depends on temporall, which is not a service/],
    ['waiting for health of a service without healthcheck', (c: ComposeFile) => delete c.services.temporal.healthcheck, /waits for temporal to be healthy, but temporal has no healthcheck/],
    ['waiting for a long-running service to complete', (c: ComposeFile) => (c.services['temporal-init'].restart = 'unless-stopped'), /waits for temporal-init to complete, but temporal-init restarts unless-stopped/],
    ['an undeclared named volume', (c: ComposeFile) => delete c.volumes!['autok8s-state'], /mounts volume autok8s-state, which is not declared/],
    ['a bind mount of a missing file', (c: ComposeFile) => (c.services.temporal.volumes = ['./deploy/temporal/nope.yaml:/etc/x.yaml:ro']), /bind-mounts \.\/deploy\/temporal\/nope\.yaml, which does not exist/],
    ['a variable without default', (c: ComposeFile) => (c.services.postgresql.image = 'postgres:${PG}'), /\$\{PG\} in "postgres:\$\{PG\}" has no default/],
    ['a port on every interface', (c: ComposeFile) => (c.services['temporal-ui'].ports = ['8080:8080']), /publishes "8080:8080" on every interface/],
    ['a malformed port', (c: ComposeFile) => (c.services['temporal-ui'].ports = ['127.0.0.1:http:8080']), /is not \[ip:\]host:container/],
    ['a dependency cycle', (c: ComposeFile) => (c.services.postgresql.depends_on = { 'autok8s-worker': { condition: 'service_started' } }), /depends_on has a cycle/],
  ])('reports %s', (_label, breakIt, expected) => {
    const copy = structuredClone(compose);
    breakIt(copy);
    expect(composeProblems(copy, exists).join('\n')).toMatch(expected);
  });

  it('reads variables and their defaults as Compose does', () => {
    expect(variablesIn('a ${X:-1} b ${Y} $$Z $W ${V-2}')).toEqual([
      { name: 'X', operator: ':-', fallback: '1' },
      { name: 'Y', operator: undefined, fallback: undefined },
      { name: 'W' },
      { name: 'V', operator: '-', fallback: '2' },
    ]);
    expect(interpolate('${A:-./x}:/y $${B}', {})).toBe('./x:/y ${B}');
    expect(interpolate('${A:-./x}', { A: '/srv/specs' })).toBe('/srv/specs');
    expect(interpolate('${A:-./x}', { A: '' })).toBe('./x');
    expect(interpolate('${A-./x}', { A: '' })).toBe('');
  });
});

describe('docker-compose.yml and the project', () => {
  it('starts things in the order that works: database, schema, server, namespace set-up, then UI and worker', () => {
    const order = startOrder(compose.services);
    const before = (a: string, b: string) => expect(order.indexOf(a), `${a} before ${b} in ${order.join(', ')}`).toBeLessThan(order.indexOf(b));
    before('postgresql', 'temporal-schema');
    before('temporal-schema', 'temporal');
    before('temporal', 'temporal-init');
    before('temporal-init', 'autok8s-worker');
    before('temporal', 'temporal-ui');
    expect(Object.fromEntries(Object.entries(service('autok8s-worker').depends_on as Record<string, { condition: string }>).map(([k, v]) => [k, v.condition]))).toEqual({
      temporal: 'service_healthy',
      'temporal-init': 'service_completed_successfully',
    });
  });

  it('registers exactly the search attributes the code starts workflows with', () => {
    const registered = environmentOf(service('temporal-init')).AUTOK8S_SEARCH_ATTRIBUTES.split(/\s+/);
    const expected = SEARCH_ATTRIBUTES.map((k) => `${k.name}=Keyword`);
    expect(SEARCH_ATTRIBUTES.every((k) => k.type === 'KEYWORD')).toBe(true);
    expect(registered.sort()).toEqual([...expected].sort());
    // The script's own default (used on a production namespace) says the same.
    const script = readFileSync(join(ROOT, 'deploy', 'temporal', 'init-namespace.sh'), 'utf8');
    const scriptDefault = /AUTOK8S_SEARCH_ATTRIBUTES:-([^}"]*)/.exec(script)?.[1].split(/\s+/) ?? [];
    expect(scriptDefault.sort()).toEqual([...expected].sort());
  });

  it('runs scripts and config files that exist where the containers look for them', () => {
    for (const job of ['temporal-schema', 'temporal-init']) {
      const entrypoint = service(job).entrypoint as string[];
      expect(entrypoint[0]).toBe('/bin/sh');
      const host = hostPathOf(job, entrypoint[1]);
      expect(host && existsSync(host), `${job} runs ${entrypoint[1]}`).toBe(true);
      expect(readFileSync(host!, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    }
    // The server reads DYNAMIC_CONFIG_FILE_PATH relative to /etc/temporal.
    const dynamic = `/etc/temporal/${environmentOf(service('temporal')).DYNAMIC_CONFIG_FILE_PATH}`;
    const host = hostPathOf('temporal', dynamic);
    expect(host && existsSync(host), `temporal mounts ${dynamic}`).toBe(true);
    const config = parse(readFileSync(host!, 'utf8')) as Record<string, unknown>;
    for (const [key, values] of Object.entries(config)) {
      expect(Array.isArray(values) && values.every((v) => typeof v === 'object' && v !== null && 'value' in v), `${key}: a list of { value, constraints }`).toBe(true);
    }
  });

  it('points the worker and the UI at the Temporal service, namespace and task queue the code uses', () => {
    const worker = environmentOf(service('autok8s-worker'));
    const init = environmentOf(service('temporal-init'));
    const ui = environmentOf(service('temporal-ui'));
    for (const env of [worker, init, ui]) {
      const [host, port] = env.TEMPORAL_ADDRESS.split(':');
      expect(compose.services[host], `${env.TEMPORAL_ADDRESS} names a service`).toBeDefined();
      expect(port).toBe('7233');
    }
    expect(interpolate(worker.TEMPORAL_NAMESPACE, {})).toBe(interpolate(init.TEMPORAL_NAMESPACE, {}));
    expect(interpolate(worker.AUTOK8S_TASK_QUEUE, {})).toBe(TASK_QUEUE);
  });

  it('mounts specs and secrets read-only and keeps the state store in a named volume', () => {
    const mounts = mountsOf(service('autok8s-worker'));
    const at = (target: string) => mounts.find((m) => m.target === target);
    expect(at('/etc/autok8s')).toMatchObject({ kind: 'bind', readOnly: true });
    expect(at('/run/secrets/autok8s')).toMatchObject({ kind: 'bind', readOnly: true });
    const stateHome = environmentOf(service('autok8s-worker')).AUTOK8S_HOME;
    expect(at(stateHome)).toMatchObject({ kind: 'volume', source: 'autok8s-state', readOnly: false });
    expect(dockerEnv(dockerfile).AUTOK8S_HOME).toBe(stateHome);
    // The secrets directory never reaches git or the image.
    expect(readFileSync(join(ROOT, 'deploy', 'secrets', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it('ships an example spec that validates and only references the worker container\'s mounts', () => {
    const text = readFileSync(join(ROOT, 'deploy', 'clusters', 'prod-gra.example.yaml'), 'utf8');
    const spec = parseSpec(text, 'prod-gra.example.yaml');
    const refs = [spec.ovh.applicationKey, spec.ovh.applicationSecret, spec.ovh.consumerKey, ...spec.servers.flatMap((s) => [s.proxmox.tokenSecret, s.ssh.privateKey])];
    const documented = readFileSync(join(ROOT, 'deploy', 'secrets', 'README.md'), 'utf8');
    for (const ref of refs) {
      expect(ref).toMatch(/^file:\/run\/secrets\/autok8s\/[\w.-]+$/);
      const name = ref.slice('file:/run/secrets/autok8s/'.length).replace(/^pve-srv-[a-z]\.token$/, 'pve-<server>.token');
      expect(documented, `deploy/secrets/README.md names ${name}`).toContain(`\`${name}\``);
    }
    expect(spec.state.dir).toMatch(/^\/var\/lib\/autok8s\//);
    expect(spec.talos.version).toBe(dockerArgDefaults(dockerfile).TALOS_VERSION);
  });
});

describe('Dockerfile', () => {
  const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const readmeSetup = /## Set-up[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))?.[1] ?? '';

  it('installs the npm packages as the README set-up does, from the lockfile, with no build step', () => {
    expect(readmeSetup, "README's set-up block").toMatch(/\bnpm install\b/);
    const install = runs.find((r) => /\bnpm (ci|install)\b/.test(r));
    expect(install, 'a RUN with npm ci / npm install').toBeDefined();
    // `npm ci` is `npm install` pinned to the lockfile: the lockfile must be in the image first.
    const copyLock = dockerfile.findIndex((i) => i.keyword === 'COPY' && i.args.includes('package-lock.json'));
    const installAt = dockerfile.findIndex((i) => i.keyword === 'RUN' && i.args === install);
    expect(copyLock).toBeGreaterThanOrEqual(0);
    expect(copyLock).toBeLessThan(installAt);
    // No compile step: the CLI runs TypeScript through tsx (a runtime dependency). The one
    // generated file is the CLI bundle that `npm install` makes through `prepare`; the image
    // makes it the same way, after the sources are in.
    expect(pkg.scripts.build).toBeUndefined();
    const prepareAt = dockerfile.findIndex((i) => i.keyword === 'RUN' && i.args === pkg.scripts.prepare);
    const sourcesAt = dockerfile.findIndex((i) => i.keyword === 'COPY' && /^\.\s+\./.test(i.args));
    expect(prepareAt, `a RUN of the prepare script (${pkg.scripts.prepare})`).toBeGreaterThan(sourcesAt);
    expect(sourcesAt).toBeGreaterThan(installAt);
    expect(runs.some((r) => /\b(tsc|npm run build)\b/.test(r))).toBe(false);
    expect(readFileSync(join(ROOT, pkg.bin.autok8s), 'utf8')).toContain("require('tsx/cjs')");
    const deps = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    if (/--omit[= ]dev|--production/.test(install!)) expect(deps.tsx, 'tsx must be a runtime dependency when dev dependencies are omitted').toBeDefined();
  });

  it('uses a Node base image that satisfies package.json engines', () => {
    const from = dockerfile.find((i) => i.keyword === 'FROM')!.args;
    const nodeVersion = from.replace(/\$\{(\w+)\}/g, (_m, name: string) => dockerArgDefaults(dockerfile)[name] ?? '');
    const m = /^node:(\d+)(?:\.(\d+))?[\w.-]*-slim$/.exec(nodeVersion);
    expect(m, `${from} is a slim node image`).not.toBeNull();
    const [, min, minMinor] = /(\d+)\.(\d+)/.exec(pkg.engines.node)!;
    // A bare major tag (node:20) follows the newest 20.x, which is past the engines' minor.
    expect(Number(m![1])).toBeGreaterThanOrEqual(Number(min));
    if (m![2] !== undefined && Number(m![1]) === Number(min)) expect(Number(m![2])).toBeGreaterThanOrEqual(Number(minMinor));
  });

  it('runs `node bin/autok8s.js worker` as a non-root user, and that command exists', async () => {
    const cmd = dockerfile.filter((i) => i.keyword === 'CMD').at(-1)!;
    expect(JSON.parse(cmd.args)).toEqual(['node', pkg.bin.autok8s, 'worker']);
    const users = dockerfile.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
    // Nothing runs as root after the switch to the unprivileged user.
    expect(dockerfile.findIndex((i) => i.keyword === 'USER')).toBeGreaterThan(dockerfile.map((i) => i.keyword).lastIndexOf('RUN'));

    const help = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT, pkg.bin.autok8s), 'worker', '--help'], { cwd: ROOT, timeout: 60_000 }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/TEMPORAL_ADDRESS/);
  });

  it('installs talosctl at the version the compose file builds with, where the worker looks for it', () => {
    const args = dockerArgDefaults(dockerfile);
    // The image's talosctl is the one the project pins, builds and tests with (core/talos/talosctl-pin.ts).
    expect(args.TALOS_VERSION).toBe(PINNED_TALOS_VERSION);
    const buildArgs = (service('autok8s-worker').build as { args: Record<string, string> }).args;
    expect(interpolate(buildArgs.TALOS_VERSION, {})).toBe(args.TALOS_VERSION);
    const talosRun = runs.find((r) => r.includes('talosctl-linux-'))!;
    expect(talosRun).toMatch(/sha256sum -c/);
    const installed = /install -m 0755 \S+ ([^\s;]+)/.exec(talosRun)?.[1];
    expect(installed).toBe(dockerEnv(dockerfile).TALOSCTL);
  });

  it('keeps secrets, local state and node_modules out of the build context, and keeps what the worker runs', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // Docker matches like filepath.Match with ** and a pattern also excludes what is under it.
    const ignored = (path: string) => patterns.some((p) => path === p || path.startsWith(`${p}/`) || matchesGlob(path, p));
    for (const path of ['node_modules', 'deploy/secrets/ovh-application-secret', 'deploy/secrets/pve-srv-a.token', '.autok8s/dev/temporal.db', '.git']) {
      expect(ignored(path), `${path} is ignored`).toBe(true);
    }
    for (const path of ['package.json', 'package-lock.json', pkg.bin.autok8s, 'client/cli.ts', 'worker/main.ts', 'workflows/index.ts', 'activities/ovh/client.ts', 'core/search-attributes.ts', 'deploy/clusters/prod-gra.example.yaml']) {
      expect(ignored(path), `${path} reaches the image`).toBe(false);
    }
  });
});
