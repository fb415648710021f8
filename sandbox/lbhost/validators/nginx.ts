// `nginx -t` on the in-process LB host (see ../validators.ts for what these stand-ins are).
import { plausibleHost, type HostFacts, type Problem, type ProgramResult } from './common';

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

/** Directives naming a directory nginx creates (only its last component, ngx_create_paths) or a file it opens. */
const NGINX_CREATED_DIRS = new Set(['proxy_cache_path', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']);
const NGINX_OPENED_FILES = new Set(['error_log', 'access_log']);

export function checkNginxConfig(text: string, file: string, host: HostFacts = {}): ProgramResult {
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
      const port = /^(?:\S+:)?(\d{1,5})$/.exec(d.args[0] ?? '')?.[1];
      if (d.name === 'listen' && !(Number(port) >= 1 && Number(port) <= 65535)) return { line: d.line, message: `invalid port in "${d.args[0] ?? ''}" of the "listen" directive` };
      if (d.name === 'server' && context === 'upstream') {
        const [address, serverPort] = (d.args[0] ?? '').split(/:(?=\d+$)/);
        if (!plausibleHost(address) || (serverPort !== undefined && !(Number(serverPort) >= 1 && Number(serverPort) <= 65535))) {
          return { line: d.line, message: `host not found in upstream "${d.args[0] ?? ''}"` };
        }
      }
      if (d.name === 'user' && host.users && !host.users.includes(d.args[0] ?? '')) return { line: d.line, message: `getpwnam("${d.args[0] ?? ''}") failed` };
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
  const missing = host.dirExists ? missingNginxParents(tree, host.dirExists) : undefined;
  if (missing) return { code: 1, stdout: '', stderr: `nginx: [emerg] ${missing}\nnginx: configuration file ${file} test failed\n` };
  return { code: 0, stdout: '', stderr: `nginx: the configuration file ${file} syntax is ok\nnginx: configuration file ${file} test is successful\n` };
}

function missingNginxParents(list: NginxDirective[], dirExists: (path: string) => boolean): string | undefined {
  for (const d of list) {
    const path = d.args[0];
    if (path?.startsWith('/') && (NGINX_CREATED_DIRS.has(d.name) || (NGINX_OPENED_FILES.has(d.name) && path !== '/dev/null'))) {
      const parent = path.replace(/\/+$/, '').replace(/\/[^/]*$/, '') || '/';
      if (!dirExists(parent)) return `${NGINX_CREATED_DIRS.has(d.name) ? 'mkdir' : 'open'}() "${path}" failed (2: No such file or directory)`;
    }
    const inner = d.block ? missingNginxParents(d.block, dirExists) : undefined;
    if (inner) return inner;
  }
  return undefined;
}
