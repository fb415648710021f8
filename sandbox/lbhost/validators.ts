// Stand-ins for `haproxy -c`, `nginx -t` and `keepalived -t` on the in-process LB host,
// which has none of the real programs. They check structure plausibly and answer in the
// programs' own style (exit status, stdout/stderr wording), so a push sees the same kind of
// answer as on a real host.
//
// Limits, on purpose: these are not the real parsers. They know the keywords autok8s
// renders plus common ones, check section/block structure, references between sections,
// addresses, ports and VRRP ranges, and, given the host's facts (HostFacts: its directories,
// users and interfaces, a fresh Debian LB VM's for the in-process host), what the real
// programs look up on the host when they check a file. They do not check that ports are
// free or the many other semantic rules of each program; anything they do not know is
// refused, so they err on the side of "invalid". For the directives autok8s renders and a
// mutation of each, test/lb/validator-parity.test.ts holds them to the real programs'
// verdicts on a stock Debian LB VM (sandbox/netns/debian-host.ts).

export { checkHaproxyConfig } from './validators/haproxy';
export { checkKeepalivedConfig } from './validators/keepalived';
export { checkNginxConfig } from './validators/nginx';
export type { HostFacts, ProgramResult } from './validators/common';
