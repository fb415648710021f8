// Stand-ins for `haproxy -c`, `nginx -t` and `keepalived -t` on the in-process LB host,
// which has none of the real programs. They check structure plausibly and answer in the
// programs' own style (exit status, stdout/stderr wording), so a push sees the same kind of
// answer as on a real host.
//
// Limits, on purpose: these are not the real parsers. They know the keywords autok8s
// renders plus common ones, check section/block structure, references between sections,
// ports and VRRP ranges; they do not check that interfaces exist, that files named in the
// config exist, that ports are free, or the many semantic rules of each program. A config
// accepted here can still be refused by the real program: real validation is the network
// namespace tier (sandbox/netns, test/lb/validate-real.test.ts). Anything they do not know
// is refused, so they err on the side of "invalid".

export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Problem {
  line: number;
  message: string;
}

// ---------------------------------------------------------------------------------------
// HAProxy

const HAPROXY_SECTIONS = new Set(['global', 'defaults', 'frontend', 'backend', 'listen', 'resolvers', 'peers', 'userlist', 'program', 'cache', 'mailers', 'http-errors', 'ring']);
const HAPROXY_NAMED = new Set(['frontend', 'backend', 'listen', 'resolvers', 'peers', 'userlist', 'program', 'cache', 'mailers', 'http-errors', 'ring']);
const HAPROXY_GLOBAL = new Set([
  'log', 'maxconn', 'user', 'group', 'uid', 'gid', 'daemon', 'chroot', 'pidfile', 'stats', 'nbthread', 'master-worker', 'ca-base', 'crt-base',
  'ssl-default-bind-ciphers', 'ssl-default-bind-ciphersuites', 'ssl-default-bind-options', 'ssl-default-server-options', 'tune.ssl.default-dh-param',
  'spread-checks', 'hard-stop-after', 'localpeer', 'node', 'description', 'ulimit-n', 'quiet', 'insecure-fork-wanted',
]);
const HAPROXY_PROXY = new Set([
  'mode', 'log', 'option', 'timeout', 'default-server', 'bind', 'default_backend', 'use_backend', 'server', 'balance', 'maxconn', 'retries',
  'monitor-uri', 'monitor', 'stats', 'acl', 'tcp-request', 'tcp-response', 'http-request', 'http-response', 'http-check', 'tcp-check', 'errorfile',
  'description', 'hash-type', 'fullconn', 'cookie', 'redirect', 'capture', 'compression', 'stick-table', 'stick', 'log-format', 'unique-id-format',
  'unique-id-header', 'source', 'dispatch', 'disabled', 'enabled', 'id', 'rate-limit', 'backlog', 'filter', 'server-template', 'email-alert',
]);
const HAPROXY_PROXY_ONLY_BACKEND = new Set(['server', 'balance', 'server-template', 'hash-type', 'cookie', 'dispatch', 'fullconn']);
const HAPROXY_PROXY_ONLY_FRONTEND = new Set(['bind', 'default_backend', 'use_backend', 'monitor-uri', 'monitor', 'capture']);

export function checkHaproxyConfig(text: string, file: string): ProgramResult {
  const problems: Problem[] = [];
  type Section = { kind: string; name?: string; line: number; binds: number; defaultBackend?: { name: string; line: number } ; useBackends: { name: string; line: number }[] };
  const sections: Section[] = [];
  let current: Section | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const words = stripComment(raw).trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const [keyword, ...args] = words;
    if (HAPROXY_SECTIONS.has(keyword) && /^\S/.test(raw)) {
      if (HAPROXY_NAMED.has(keyword) && args.length === 0) problems.push({ line, message: `'${keyword}' expects <name> as an argument.` });
      current = { kind: keyword, name: args[0], line, binds: 0, useBackends: [] };
      sections.push(current);
      return;
    }
    if (!current) {
      problems.push({ line, message: `unknown keyword '${keyword}' out of section.` });
      return;
    }
    const known = current.kind === 'global' ? HAPROXY_GLOBAL.has(keyword) : HAPROXY_PROXY.has(keyword) || !['frontend', 'backend', 'listen', 'defaults'].includes(current.kind);
    if (!known) {
      problems.push({ line, message: `unknown keyword '${keyword}' in '${current.kind}' section` });
      return;
    }
    if (current.kind === 'frontend' && HAPROXY_PROXY_ONLY_BACKEND.has(keyword)) problems.push({ line, message: `'${keyword}' not allowed in 'frontend' section` });
    if (current.kind === 'backend' && HAPROXY_PROXY_ONLY_FRONTEND.has(keyword)) problems.push({ line, message: `'${keyword}' not allowed in 'backend' section` });
    switch (keyword) {
      case 'mode':
        if (!['tcp', 'http', 'log'].includes(args[0] ?? '')) problems.push({ line, message: `'mode' expects one of 'tcp', 'http' or 'log' but got '${args[0] ?? ''}'.` });
        break;
      case 'bind':
        current.binds += 1;
        if (!args[0] || !validEndpoint(args[0], true)) problems.push({ line, message: `'bind' : invalid address '${args[0] ?? ''}' (expects [addr]:port).` });
        break;
      case 'server':
        if (args.length < 2 || !validEndpoint(args[1], false)) problems.push({ line, message: `'server ${args[0] ?? ''}' : invalid address '${args[1] ?? ''}' (expects addr:port).` });
        break;
      case 'default_backend':
        if (!args[0]) problems.push({ line, message: `'default_backend' expects a backend name.` });
        else current.defaultBackend = { name: args[0], line };
        break;
      case 'use_backend':
        if (args[0]) current.useBackends.push({ name: args[0], line });
        break;
      case 'maxconn':
        if (!/^\d+$/.test(args[0] ?? '')) problems.push({ line, message: `'maxconn' expects an integer argument.` });
        break;
      case 'timeout':
        if (args.length < 2 || !/^\d+(us|ms|s|m|h|d)?$/.test(args[1])) problems.push({ line, message: `'timeout ${args[0] ?? ''}' expects a duration such as 5s.` });
        break;
    }
  });
  const backends = new Set(sections.filter((s) => s.kind === 'backend' || s.kind === 'listen').map((s) => s.name));
  const names = new Map<string, number>();
  for (const s of sections) {
    if (s.name && ['frontend', 'backend', 'listen'].includes(s.kind)) {
      const key = `${s.kind === 'frontend' ? 'f' : 'b'}:${s.name}`;
      if (names.has(key)) problems.push({ line: s.line, message: `${s.kind} '${s.name}' has the same name as another one declared at line ${names.get(key)}.` });
      names.set(key, s.line);
    }
    if ((s.kind === 'frontend' || s.kind === 'listen') && s.binds === 0) {
      problems.push({ line: s.line, message: `${s.kind} '${s.name}' has no 'bind' directive. Please declare it as a backend if this was intended.` });
    }
    for (const ref of [...(s.defaultBackend ? [s.defaultBackend] : []), ...s.useBackends]) {
      if (!backends.has(ref.name)) problems.push({ line: ref.line, message: `Proxy '${s.name}': unable to find required default_backend: '${ref.name}'.` });
    }
  }
  if (problems.length === 0) return { code: 0, stdout: 'Configuration file is valid\n', stderr: '' };
  const alerts = problems.map((p) => `[ALERT]    (1) : config : parsing [${file}:${p.line}] : ${p.message}`);
  return { code: 1, stdout: '', stderr: [...alerts, '[ALERT]    (1) : config : Fatal errors found in configuration.', ''].join('\n') };
}

function validEndpoint(text: string, wildcardAllowed: boolean): boolean {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m) return false;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return false;
  const host = m[1];
  if (host === '' || host === '*') return wildcardAllowed;
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(host) || /^[A-Za-z0-9.-]+$/.test(host) || /^\[[0-9a-fA-F:]+\]$/.test(host);
}

function stripComment(line: string): string {
  const i = line.search(/(^|\s)#/);
  return i < 0 ? line : line.slice(0, i);
}

// ---------------------------------------------------------------------------------------
// Nginx

type NginxToken = { kind: 'word' | ';' | '{' | '}'; text: string; line: number };
type NginxDirective = { name: string; args: string[]; line: number; block?: NginxDirective[] };

/** Directive name → contexts it may appear in ('main', 'events', 'http', 'server', 'location', 'upstream'). */
const NGINX_DIRECTIVES: Record<string, string[]> = {
  user: ['main'], worker_processes: ['main'], pid: ['main'], error_log: ['main', 'http', 'server', 'location'], events: ['main'], http: ['main'],
  worker_rlimit_nofile: ['main'], include: ['main', 'events', 'http', 'server', 'location', 'upstream'], load_module: ['main'], daemon: ['main'], master_process: ['main'],
  worker_connections: ['events'], multi_accept: ['events'], use: ['events'],
  server: ['http', 'upstream'], upstream: ['http'], location: ['server', 'location'], listen: ['server'], server_name: ['server'],
  access_log: ['http', 'server', 'location'], default_type: ['http', 'server', 'location'], sendfile: ['http', 'server', 'location'], tcp_nopush: ['http', 'server', 'location'],
  keepalive_timeout: ['http', 'server', 'location'], server_tokens: ['http', 'server', 'location'], types: ['http', 'server', 'location'], gzip: ['http', 'server', 'location'],
  client_body_temp_path: ['http', 'server', 'location'], proxy_temp_path: ['http', 'server', 'location'], fastcgi_temp_path: ['http', 'server', 'location'],
  uwsgi_temp_path: ['http', 'server', 'location'], scgi_temp_path: ['http', 'server', 'location'], client_max_body_size: ['http', 'server', 'location'],
  proxy_cache_path: ['http'], proxy_pass: ['location'], proxy_http_version: ['http', 'server', 'location'], proxy_set_header: ['http', 'server', 'location'],
  proxy_cache: ['http', 'server', 'location'], proxy_cache_valid: ['http', 'server', 'location'], proxy_cache_lock: ['http', 'server', 'location'],
  proxy_cache_background_update: ['http', 'server', 'location'], proxy_cache_use_stale: ['http', 'server', 'location'], proxy_cache_bypass: ['http', 'server', 'location'],
  proxy_no_cache: ['http', 'server', 'location'], proxy_read_timeout: ['http', 'server', 'location'], proxy_connect_timeout: ['http', 'server', 'location'],
  proxy_buffering: ['http', 'server', 'location'], add_header: ['http', 'server', 'location'], return: ['server', 'location'], root: ['http', 'server', 'location'],
  index: ['http', 'server', 'location'], allow: ['http', 'server', 'location'], deny: ['http', 'server', 'location'], stub_status: ['server', 'location'],
  keepalive: ['upstream'], least_conn: ['upstream'], ip_hash: ['upstream'],
};

function tokenizeNginx(text: string): NginxToken[] | Problem {
  const tokens: NginxToken[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\n') { line++; i++; continue; }
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (ch === ';' || ch === '{' || ch === '}') { tokens.push({ kind: ch, text: ch, line }); i++; continue; }
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== ch) {
        if (text[j] === '\\' && j + 1 < text.length) { value += text[j] + text[j + 1]; j += 2; continue; }
        if (text[j] === '\n') line++;
        value += text[j++];
      }
      if (j >= text.length) return { line, message: 'unexpected end of file, expecting ";" or "}"' };
      tokens.push({ kind: 'word', text: value, line });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s;{}]/.test(text[j])) j++;
    tokens.push({ kind: 'word', text: text.slice(i, j), line });
    i = j;
  }
  return tokens;
}

function parseNginx(tokens: NginxToken[]): NginxDirective[] | Problem {
  let pos = 0;
  const block = (depth: number): NginxDirective[] | Problem => {
    const out: NginxDirective[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos];
      if (t.kind === '}') {
        if (depth === 0) return { line: t.line, message: 'unexpected "}"' };
        pos++;
        return out;
      }
      if (t.kind !== 'word') return { line: t.line, message: `unexpected "${t.text}"` };
      const words: string[] = [];
      while (pos < tokens.length && tokens[pos].kind === 'word') words.push(tokens[pos++].text);
      const end = tokens[pos];
      if (!end) return { line: t.line, message: 'unexpected end of file, expecting ";" or "}"' };
      if (end.kind === ';') {
        pos++;
        out.push({ name: words[0], args: words.slice(1), line: t.line });
      } else if (end.kind === '{') {
        pos++;
        const inner = block(depth + 1);
        if (!Array.isArray(inner)) return inner;
        out.push({ name: words[0], args: words.slice(1), line: t.line, block: inner });
      } else {
        return { line: end.line, message: `directive "${words[0]}" is not terminated by ";"` };
      }
    }
    if (depth > 0) return { line: tokens[tokens.length - 1]?.line ?? 1, message: 'unexpected end of file, expecting "}"' };
    return out;
  };
  return block(0);
}

/** What the validators may ask of the host's file system (absent: paths are not checked). */
export interface HostDirs {
  /** Whether a directory exists on the host. */
  dirExists(path: string): boolean;
}

/** Directives naming a directory nginx creates (only its last component, ngx_create_paths) or a file it opens. */
const NGINX_CREATED_DIRS = new Set(['proxy_cache_path', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']);
const NGINX_OPENED_FILES = new Set(['error_log', 'access_log']);

export function checkNginxConfig(text: string, file: string, host?: HostDirs): ProgramResult {
  const fail = (p: Problem): ProgramResult => ({
    code: 1,
    stdout: '',
    stderr: `nginx: [emerg] ${p.message} in ${file}:${p.line}\nnginx: configuration file ${file} test failed\n`,
  });
  const tokens = tokenizeNginx(text);
  if (!Array.isArray(tokens)) return fail(tokens);
  const tree = parseNginx(tokens);
  if (!Array.isArray(tree)) return fail(tree);

  const upstreams = new Set<string>();
  const cacheZones = new Set<string>();
  const walk = (list: NginxDirective[], context: string): Problem | undefined => {
    // `types { text/html html; }` holds MIME entries, not directives.
    if (context === 'types') return undefined;
    for (const d of list) {
      const contexts = NGINX_DIRECTIVES[d.name];
      if (!contexts) return { line: d.line, message: `unknown directive "${d.name}"` };
      if (!contexts.includes(context)) return { line: d.line, message: `"${d.name}" directive is not allowed here` };
      const isBlock = ['events', 'http', 'server', 'location', 'upstream', 'types'].includes(d.name) && !(d.name === 'server' && context === 'upstream');
      if (isBlock && !d.block) return { line: d.line, message: `directive "${d.name}" has no opening "{"` };
      if (!isBlock && d.block) return { line: d.line, message: `directive "${d.name}" is not terminated by ";"` };
      if (d.name === 'listen' && !/^(\S+:)?\d{1,5}$/.test(d.args[0] ?? '')) return { line: d.line, message: `invalid port in "${d.args[0] ?? ''}" of the "listen" directive` };
      if (d.name === 'upstream') upstreams.add(d.args[0] ?? '');
      if (d.name === 'proxy_cache_path') {
        const zone = d.args.find((a) => a.startsWith('keys_zone='));
        if (!zone) return { line: d.line, message: '"proxy_cache_path" must have "keys_zone" parameter' };
        cacheZones.add(zone.slice('keys_zone='.length).split(':')[0]);
      }
      if (d.block) {
        const inner = walk(d.block, d.name);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  const problem = walk(tree, 'main');
  if (problem) return fail(problem);
  if (!tree.some((d) => d.name === 'events')) return fail({ line: 1, message: 'no "events" section in configuration' });
  // References that nginx resolves after parsing.
  const refs: Problem | undefined = (() => {
    const visit = (list: NginxDirective[]): Problem | undefined => {
      for (const d of list) {
        if (d.name === 'proxy_cache' && d.args[0] !== 'off' && !cacheZones.has(d.args[0])) return { line: d.line, message: `"proxy_cache" zone "${d.args[0]}" is unknown` };
        if (d.name === 'proxy_pass') {
          const host = /^https?:\/\/([^/:]+)/.exec(d.args[0] ?? '')?.[1];
          if (!host) return { line: d.line, message: `invalid URL prefix in "${d.args[0] ?? ''}"` };
          if (!/^[\d.]+$/.test(host) && host !== 'localhost' && !upstreams.has(host)) return { line: d.line, message: `host not found in upstream "${host}"` };
        }
        if (d.block) {
          const inner = visit(d.block);
          if (inner) return inner;
        }
      }
      return undefined;
    };
    return visit(tree);
  })();
  if (refs) return fail(refs);
  // nginx -t creates the cache and temp directories and opens the logs, so a missing parent
  // directory fails it: `mkdir() "/var/cache/nginx/autok8s" failed` on Debian (§D.1).
  const missing = host ? missingNginxParents(tree, host) : undefined;
  if (missing) return { code: 1, stdout: '', stderr: `nginx: [emerg] ${missing}\nnginx: configuration file ${file} test failed\n` };
  return { code: 0, stdout: '', stderr: `nginx: the configuration file ${file} syntax is ok\nnginx: configuration file ${file} test is successful\n` };
}

function missingNginxParents(list: NginxDirective[], host: HostDirs): string | undefined {
  for (const d of list) {
    const path = d.args[0];
    if (path?.startsWith('/') && (NGINX_CREATED_DIRS.has(d.name) || (NGINX_OPENED_FILES.has(d.name) && path !== '/dev/null'))) {
      const parent = path.replace(/\/+$/, '').replace(/\/[^/]*$/, '') || '/';
      if (!host.dirExists(parent)) return `${NGINX_CREATED_DIRS.has(d.name) ? 'mkdir' : 'open'}() "${path}" failed (2: No such file or directory)`;
    }
    const inner = d.block ? missingNginxParents(d.block, host) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// keepalived

const KEEPALIVED_TOP = new Set(['global_defs', 'vrrp_instance', 'vrrp_script', 'vrrp_sync_group', 'virtual_server', 'virtual_server_group', 'static_ipaddress', 'static_routes', 'static_rules', 'include']);
const VRRP_KEYWORDS = new Set([
  'state', 'interface', 'virtual_router_id', 'priority', 'advert_int', 'nopreempt', 'preempt_delay', 'unicast_src_ip', 'unicast_peer', 'authentication',
  'virtual_ipaddress', 'virtual_ipaddress_excluded', 'virtual_routes', 'track_script', 'track_interface', 'notify_master', 'notify_backup', 'notify_fault',
  'notify_stop', 'notify', 'smtp_alert', 'garp_master_delay', 'dont_track_primary', 'use_vmac', 'version', 'accept', 'no_accept', 'debug',
]);

type KaBlock = { name: string; args: string[]; line: number; children: KaBlock[] };

export function checkKeepalivedConfig(text: string, file: string): ProgramResult {
  const problems: Problem[] = [];
  const root: KaBlock = { name: '(root)', args: [], line: 0, children: [] };
  const stack: KaBlock[] = [root];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/(^|\s)[#!].*$/, '').trim();
    if (body === '') return;
    const words = splitKeepalivedWords(body);
    if (words === undefined) {
      problems.push({ line, message: `unmatched quote in: ${body}` });
      return;
    }
    const opens = words[words.length - 1] === '{';
    if (words.length === 1 && words[0] === '}') {
      if (stack.length === 1) problems.push({ line, message: 'unexpected "}"' });
      else stack.pop();
      return;
    }
    const [name, ...args] = opens ? words.slice(0, -1) : words;
    const node: KaBlock = { name: name ?? '{', args, line, children: [] };
    stack[stack.length - 1].children.push(node);
    if (opens) stack.push(node);
  });
  if (stack.length > 1) problems.push({ line: stack[stack.length - 1].line, message: `There are ${stack.length - 1} missing '}'s or extra '{'s` });

  for (const top of root.children) {
    if (!KEEPALIVED_TOP.has(top.name)) problems.push({ line: top.line, message: `Unknown keyword '${top.name}'` });
    if (top.name !== 'vrrp_instance') continue;
    const get = (k: string) => top.children.find((c) => c.name === k);
    for (const child of top.children) if (!VRRP_KEYWORDS.has(child.name)) problems.push({ line: child.line, message: `Unknown keyword '${child.name}'` });
    if (!top.args[0]) problems.push({ line: top.line, message: 'vrrp_instance needs a name' });
    const state = get('state')?.args[0];
    if (state !== undefined && state !== 'MASTER' && state !== 'BACKUP') problems.push({ line: get('state')!.line, message: `unknown state '${state}', defaulting to BACKUP` });
    if (!get('interface')?.args[0]) problems.push({ line: top.line, message: `(${top.args[0]}) no interface specified` });
    const vrid = Number(get('virtual_router_id')?.args[0]);
    if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) {
      problems.push({ line: get('virtual_router_id')?.line ?? top.line, message: `(${top.args[0]}): VRID '${get('virtual_router_id')?.args[0] ?? ''}' not valid - must be between 1 & 255` });
    }
    const priority = get('priority');
    if (priority && !(Number(priority.args[0]) >= 1 && Number(priority.args[0]) <= 255)) problems.push({ line: priority.line, message: `number '${priority.args[0]}' outside range [1, 255]` });
    const vips = get('virtual_ipaddress');
    if (!vips || vips.children.length === 0) problems.push({ line: top.line, message: `(${top.args[0]}) No VIP specified; at least one is sensible` });
    for (const vip of vips?.children ?? []) {
      if (!/^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/.test(vip.name)) problems.push({ line: vip.line, message: `Invalid address '${vip.name}' for ip address` });
    }
    const pass = get('authentication')?.children.find((c) => c.name === 'auth_pass')?.args[0];
    if (pass !== undefined && pass.length > 8) problems.push({ line: top.line, message: `Truncating auth_pass to 8 characters` });
  }
  if (problems.length === 0) return { code: 0, stdout: '', stderr: '' };
  // keepalived 2.2.7 `-t` exits 5 on configuration errors (observed on Debian 12).
  return { code: 5, stdout: '', stderr: problems.map((p) => `(${file}: Line ${p.line}) ${p.message}`).join('\n') + '\n' };
}

/** keepalived splits on spaces; a double-quoted string is one word (notify scripts). */
function splitKeepalivedWords(body: string): string[] | undefined {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) words.push(m[1] ?? m[2]);
  return (body.match(/"/g)?.length ?? 0) % 2 === 0 ? words : undefined;
}
