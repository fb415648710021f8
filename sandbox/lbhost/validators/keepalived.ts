// `keepalived -t` on the in-process LB host (see ../validators.ts for what these stand-ins are).
import { isIpv4 } from '../../../core/net/ipv4';
import type { HostFacts, Problem, ProgramResult } from './common';

const KEEPALIVED_TOP = new Set(['global_defs', 'vrrp_instance', 'vrrp_script', 'vrrp_sync_group', 'virtual_server', 'virtual_server_group', 'static_ipaddress', 'static_routes', 'static_rules', 'include']);
const VRRP_KEYWORDS = new Set([
  'state', 'interface', 'virtual_router_id', 'priority', 'advert_int', 'nopreempt', 'preempt_delay', 'unicast_src_ip', 'unicast_peer', 'authentication',
  'virtual_ipaddress', 'virtual_ipaddress_excluded', 'virtual_routes', 'virtual_rules', 'track_script', 'track_interface', 'notify_master', 'notify_backup', 'notify_fault',
  'notify_stop', 'notify', 'smtp_alert', 'garp_master_delay', 'dont_track_primary', 'use_vmac', 'version', 'accept', 'no_accept', 'debug',
]);

type KaBlock = { name: string; args: string[]; line: number; children: KaBlock[] };

const KEEPALIVED_SCRIPT_KEYWORDS = new Set(['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify', 'track_script']);

export function checkKeepalivedConfig(text: string, file: string, host: HostFacts = {}): ProgramResult {
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

  // A named interface the host lacks: keepalived warns per line, then refuses the config.
  let missingInterface = false;
  const checkInterface = (name: string, line: number, what: string) => {
    if (host.interfaces && !host.interfaces.includes(name)) {
      problems.push({ line, message: `WARNING - interface ${name} for ${what} doesn't exist` });
      missingInterface = true;
    }
  };
  let scripts = false;
  for (const top of root.children) {
    if (!KEEPALIVED_TOP.has(top.name)) problems.push({ line: top.line, message: `Unknown keyword '${top.name}'` });
    if (top.name === 'vrrp_script') scripts = true;
    if (top.name !== 'vrrp_instance') continue;
    const instance = top.args[0];
    const get = (k: string) => top.children.find((c) => c.name === k);
    for (const child of top.children) {
      if (!VRRP_KEYWORDS.has(child.name)) problems.push({ line: child.line, message: `Unknown keyword '${child.name}'` });
      if (KEEPALIVED_SCRIPT_KEYWORDS.has(child.name)) scripts = true;
    }
    if (!instance) problems.push({ line: top.line, message: 'vrrp_instance needs a name' });
    const state = get('state');
    if (state && state.args[0] !== 'MASTER' && state.args[0] !== 'BACKUP') problems.push({ line: state.line, message: `(${instance}) unknown state '${state.args[0] ?? ''}', defaulting to BACKUP` });
    const iface = get('interface');
    if (!iface?.args[0]) problems.push({ line: top.line, message: `(${instance}) Unknown interface!` });
    else checkInterface(iface.args[0], iface.line, `vrrp_instance ${instance}`);
    const vrid = get('virtual_router_id');
    const vridValue = Number(vrid?.args[0]);
    if (!vrid) problems.push({ line: top.line, message: `(${instance}) the virtual router id must be set` });
    else if (!/^\d+$/.test(vrid.args[0] ?? '') || vridValue < 1 || vridValue > 255) {
      problems.push({ line: vrid.line, message: `(${instance}): VRID '${vrid.args[0] ?? ''}' not valid - must be between 1 & 255` });
    }
    const priority = get('priority');
    if (priority && !(/^\d+$/.test(priority.args[0] ?? '') && Number(priority.args[0]) >= 1 && Number(priority.args[0]) <= 255)) {
      problems.push({ line: priority.line, message: `number '${priority.args[0] ?? ''}' outside range [1, 255]` });
    }
    const advert = get('advert_int');
    if (advert && !(Number(advert.args[0]) > 0)) problems.push({ line: advert.line, message: `(${instance}) Advert interval (${advert.args[0] ?? ''}) not valid! Must be > 0 - ignoring` });
    const source = get('unicast_src_ip');
    if (source && !isIpv4(source.args[0] ?? '')) problems.push({ line: source.line, message: `Configuration error: VRRP instance[${instance}] malformed src address[${source.args[0] ?? ''}]. Skipping...` });
    const peers = get('unicast_peer');
    for (const peer of peers?.children ?? []) {
      if (!isIpv4(peer.name)) problems.push({ line: peer.line, message: `Configuration error: VRRP instance[${instance}] malformed unicast peer address[${peer.name}]. Skipping...` });
    }
    if (source && (peers?.children.length ?? 0) === 0) {
      problems.push({ line: source.line, message: `(${instance}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.` });
    }
    const vips = get('virtual_ipaddress');
    const validVips = (vips?.children ?? []).filter((vip) => {
      const [address, prefix] = vip.name.split('/');
      const ok = isIpv4(address) && (prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32));
      if (!ok) problems.push({ line: vip.line, message: `VRRP parsed invalid IP ${vip.name}. skipping IP...` });
      const dev = vip.args.indexOf('dev');
      if (ok && dev >= 0 && vip.args[dev + 1]) checkInterface(vip.args[dev + 1], vip.line, `ip address ${vip.name}`);
      return ok;
    });
    if (validVips.length === 0) problems.push({ line: top.line, message: `(${instance}) No VIP specified; at least one is sensible` });
    const pass = get('authentication')?.children.find((c) => c.name === 'auth_pass');
    if (pass?.args[0] !== undefined && pass.args[0].length > 8) problems.push({ line: pass.line, message: `Truncating auth_pass to 8 characters` });
  }
  if (missingInterface) problems.push({ line: 0, message: 'Non-existent interface specified in configuration' });
  const lines = problems.map((p) => (p.line > 0 ? `(${file}: Line ${p.line}) ${p.message}` : p.message));
  // keepalived 2.2.7 `-t`: 5 for configuration errors, then 6 for scripts without
  // enable_script_security (docs/contracts.md §D.2; observed on Debian 12).
  if (problems.length > 0) return { code: 5, stdout: '', stderr: lines.join('\n') + '\n' };
  const secure = root.children.some((c) => c.name === 'global_defs' && c.children.some((d) => d.name === 'enable_script_security'));
  if (scripts && !secure) return { code: 6, stdout: '', stderr: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.\n' };
  return { code: 0, stdout: '', stderr: '' };
}

/** keepalived splits on spaces; a double-quoted string is one word (notify scripts). */
function splitKeepalivedWords(body: string): string[] | undefined {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) words.push(m[1] ?? m[2]);
  return (body.match(/"/g)?.length ?? 0) % 2 === 0 ? words : undefined;
}
