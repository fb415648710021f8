// `haproxy -c` on the in-process LB host (see ../validators.ts for what these stand-ins are).
import { plausibleHost, type HostFacts, type Problem, type ProgramResult } from './common';

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

export function checkHaproxyConfig(text: string, file: string, host: HostFacts = {}): ProgramResult {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
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
      case 'user':
      case 'group':
        if (current.kind === 'global' && host.users && args[0] && !host.users.includes(args[0])) {
          problems.push({ line, message: `cannot find ${keyword === 'user' ? 'user' : 'group'} id for '${args[0]}' (0:Success)` });
        }
        break;
      case 'maxconn':
        if (!/^\d+$/.test(args[0] ?? '')) problems.push({ line, message: `'maxconn' expects an integer argument.` });
        break;
      case 'timeout':
        if (args.length < 2 || !/^\d+(us|ms|s|m|h|d)?$/.test(args[1])) problems.push({ line, message: `'timeout ${args[0] ?? ''}' expects a duration such as 5s.` });
        break;
      case 'http-request':
        // src/http_htx.c: a `return` with a payload (string, file, …) must name its content-type.
        if (args[0] === 'return' && args.some((a) => ['string', 'lf-string', 'file', 'lf-file'].includes(a)) && !args.includes('content-type')) {
          problems.push({ line, message: `error detected in ${current.kind} '${current.name}' while parsing 'http-request return' rule : 'content-type' must be defined when non-empty payload is configured.` });
        }
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
      // Only a warning: haproxy -c still exits 0 (observed, haproxy 2.6 on Debian 12).
      warnings.push({ line: s.line, message: `${s.kind} '${s.name}' has no 'bind' directive. Please declare it as a backend if this was intended.` });
    }
    for (const ref of [...(s.defaultBackend ? [s.defaultBackend] : []), ...s.useBackends]) {
      if (!backends.has(ref.name)) problems.push({ line: ref.line, message: `Proxy '${s.name}': unable to find required default_backend: '${ref.name}'.` });
    }
  }
  const warned = warnings.map((p) => `[WARNING]  (1) : config : ${p.message}\n`).join('');
  if (problems.length === 0) return { code: 0, stdout: 'Configuration file is valid\n', stderr: warned };
  const alerts = problems.map((p) => `[ALERT]    (1) : config : parsing [${file}:${p.line}] : ${p.message}`);
  return { code: 1, stdout: '', stderr: [...alerts, '[ALERT]    (1) : config : Fatal errors found in configuration.', ''].join('\n') };
}

function validEndpoint(text: string, wildcardAllowed: boolean): boolean {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m) return false;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return false;
  const address = m[1];
  if (address === '' || address === '*') return wildcardAllowed;
  return plausibleHost(address) || /^\[[0-9a-fA-F:]+\]$/.test(address);
}

function stripComment(line: string): string {
  const i = line.search(/(^|\s)#/);
  return i < 0 ? line : line.slice(0, i);
}
