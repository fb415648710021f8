// Checks of a Compose file that the Compose JSON Schema cannot express (references between
// services, volumes and files; variable defaults; port bindings), and a reader for
// Dockerfile instructions. Pure functions over parsed data, so the tests can also feed
// them broken input and see each check fail.
//
// No Docker engine runs here, so `docker compose config` cannot be the judge: the schema
// half is dclint's (it bundles the Compose Specification schema), this is the other half.

/** A parsed Compose file, only as far as these checks look. */
export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, string> };
  depends_on?: string[] | Record<string, { condition: string }>;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number)[];
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  healthcheck?: { test?: unknown; disable?: boolean };
  restart?: string;
  entrypoint?: string | string[];
  command?: string | string[];
}

// ---------- variables

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

export interface VariableUse {
  name: string;
  /** The default after `:-` or `-`, when there is one. */
  fallback?: string;
  operator?: string;
}

/** Every `${VAR...}` / `$VAR` in a string, ignoring `$$` (a literal dollar sign). */
export function variablesIn(text: string): VariableUse[] {
  const out: VariableUse[] = [];
  const unescaped = text.replace(/\$\$/g, '');
  for (const m of unescaped.matchAll(VARIABLE)) {
    if (m[4]) out.push({ name: m[4] });
    else out.push({ name: m[1], operator: m[2], fallback: m[2] === ':-' || m[2] === '-' ? m[3] : undefined });
  }
  return out;
}

/** Interpolates `${VAR:-default}` / `${VAR-default}` / `${VAR}` the way Compose does, for the cases this project uses. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text
    .split('$$')
    .map((part) =>
      part.replace(VARIABLE, (_all, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
        const name = braced ?? bare!;
        const value = env[name];
        if (op === ':-') return value === undefined || value === '' ? interpolate(arg ?? '', env) : value;
        if (op === '-') return value === undefined ? interpolate(arg ?? '', env) : value;
        return value ?? '';
      }),
    )
    .join('$');
}

/** Every string anywhere inside a parsed YAML value. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

// ---------- structure

export interface Mount {
  kind: 'bind' | 'volume' | 'anonymous';
  source?: string;
  target: string;
  readOnly: boolean;
}

/** A service's `volumes` entries in one shape (short syntax `src:dst[:ro]` or long syntax). */
export function mountsOf(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') {
      const kind = v.type === 'bind' ? 'bind' : v.source ? 'volume' : 'anonymous';
      return { kind, source: v.source, target: v.target, readOnly: v.read_only === true };
    }
    // Split on the ":" between source, target and options, not on the ":-" inside ${VAR:-default}.
    const vars: string[] = [];
    const parts = v
      .replace(/\$\{[^}]*\}/g, (m) => `\u0000${vars.push(m) - 1}\u0000`)
      .split(':')
      .map((p) => p.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => vars[Number(i)]));
    if (parts.length === 1) return { kind: 'anonymous', target: parts[0], readOnly: false };
    const [source, target, options = ''] = parts;
    const isPath = /^(\.|\/|~|\$\{)/.test(source);
    return { kind: isPath ? 'bind' : 'volume', source, target, readOnly: options.split(',').includes('ro') };
  });
}

export function dependenciesOf(service: ComposeService): { name: string; condition: string }[] {
  const deps = service.depends_on;
  if (!deps) return [];
  if (Array.isArray(deps)) return deps.map((name) => ({ name, condition: 'service_started' }));
  return Object.entries(deps).map(([name, d]) => ({ name, condition: d.condition }));
}

export function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (!env) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const LONG_RUNNING = new Set(['always', 'unless-stopped']);

/**
 * What is wrong with the file's internal references, one sentence each (empty when all
 * holds). `exists(path)` answers for bind-mount sources relative to the file's directory.
 */
export function composeProblems(file: ComposeFile, exists: (relativePath: string) => boolean): string[] {
  const problems: string[] = [];
  const services = file.services ?? {};
  const names = Object.keys(services);
  const declaredVolumes = new Set(Object.keys(file.volumes ?? {}));
  const usedVolumes = new Set<string>();
  if (names.length === 0) problems.push('no services');

  for (const [name, service] of Object.entries(services)) {
    if (!service.image && !service.build) problems.push(`service ${name} has neither image nor build`);

    for (const dep of dependenciesOf(service)) {
      const target = services[dep.name];
      if (!target) {
        problems.push(`service ${name} depends on ${dep.name}, which is not a service`);
        continue;
      }
      if (dep.condition === 'service_healthy' && (!target.healthcheck || target.healthcheck.disable)) {
        problems.push(`service ${name} waits for ${dep.name} to be healthy, but ${dep.name} has no healthcheck`);
      }
      if (dep.condition === 'service_completed_successfully' && target.restart && LONG_RUNNING.has(target.restart)) {
        problems.push(`service ${name} waits for ${dep.name} to complete, but ${dep.name} restarts ${target.restart} (it is not a one-shot job)`);
      }
    }

    for (const mount of mountsOf(service)) {
      if (mount.kind === 'volume' && mount.source) {
        usedVolumes.add(mount.source);
        if (!declaredVolumes.has(mount.source)) problems.push(`service ${name} mounts volume ${mount.source}, which is not declared under volumes:`);
      }
      if (mount.kind === 'bind' && mount.source) {
        const source = interpolate(mount.source, {});
        if (source.startsWith('./') && !exists(source)) problems.push(`service ${name} bind-mounts ${source}, which does not exist`);
        if (!source.startsWith('./')) problems.push(`service ${name} bind-mounts ${source}: use a path relative to the compose file`);
      }
      if (!mount.target.startsWith('/')) problems.push(`service ${name} mounts onto ${mount.target}, which is not an absolute path`);
    }

    for (const port of service.ports ?? []) {
      const spec = interpolate(String(port), {});
      const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(spec);
      if (!m) {
        problems.push(`service ${name} publishes "${port}", which is not [ip:]host:container`);
        continue;
      }
      const [, ip, host, container] = m;
      for (const p of [host, container]) if (Number(p) < 1 || Number(p) > 65535) problems.push(`service ${name} publishes port ${p}, outside 1-65535`);
      if (ip !== '127.0.0.1') problems.push(`service ${name} publishes "${port}" on ${ip ?? 'every interface'}; bind it to 127.0.0.1 (these services have no authentication)`);
    }
  }

  for (const volume of declaredVolumes) if (!usedVolumes.has(volume)) problems.push(`volume ${volume} is declared but no service mounts it`);

  for (const text of stringsIn(file)) {
    for (const use of variablesIn(text)) {
      if (use.fallback === undefined) problems.push(`\${${use.name}} in "${text}" has no default: write \${${use.name}:-value} so the file works without a .env`);
    }
  }

  const cycle = dependencyCycle(services);
  if (cycle) problems.push(`depends_on has a cycle: ${cycle.join(' → ')}`);
  return problems;
}

/** The first depends_on cycle found, as a path of service names, or undefined. */
export function dependencyCycle(services: Record<string, ComposeService>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'done' || !services[name]) return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const dep of dependenciesOf(services[name])) {
      const found = visit(dep.name, [...path, name]);
      if (found) return found;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(services)) {
    const found = visit(name, []);
    if (found) return found;
  }
  return undefined;
}

/** Services in an order that satisfies every depends_on (Compose's start order). */
export function startOrder(services: Record<string, ComposeService>): string[] {
  const order: string[] = [];
  const entered = new Set<string>();
  const visit = (name: string) => {
    // `entered` stops at a cycle (dependencyCycle reports it) instead of recursing forever.
    if (entered.has(name) || !services[name]) return;
    entered.add(name);
    for (const dep of dependenciesOf(services[name])) visit(dep.name);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order;
}

// ---------- Dockerfile

export interface DockerInstruction {
  keyword: string;
  args: string;
  line: number;
}

/**
 * Dockerfile instructions with continuation lines joined and comments dropped. Hand-written:
 * this is all the tests need (a dozen lines), where a parser package would be one more
 * dependency for the same result.
 */
export function dockerInstructions(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) return;
    const continues = line.endsWith('\\');
    const body = continues ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${body}`, line: pending.line } : { text: body, line: i + 1 };
    if (continues) return;
    const m = /^(\S+)\s*(.*)$/s.exec(pending.text.trim());
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: pending.line });
    pending = undefined;
  });
  return out;
}

/** `ARG NAME=default` values (the last one wins, as in a single-stage build). */
export function dockerArgDefaults(instructions: DockerInstruction[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const i of instructions.filter((x) => x.keyword === 'ARG')) {
    const eq = i.args.indexOf('=');
    if (eq < 0) out[i.args] = out[i.args];
    else out[i.args.slice(0, eq)] = i.args.slice(eq + 1).replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** `ENV A=1 B=2` pairs, in order. */
export function dockerEnv(instructions: DockerInstruction[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of instructions.filter((x) => x.keyword === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}
