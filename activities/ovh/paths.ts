// OVH API paths of the objects autok8s touches. Each name is one path segment, checked
// against its grammar first: encodeURIComponent leaves ".." as it is, so a spec that
// skipped validation could otherwise address /dedicated/server/.. or /vrack/.. (/me, /auth).
import { GRAMMAR, requireGrammar } from '../../core/spec/grammar';

/** Failover IPs are /32 blocks; paths carry them URL-encoded (`/ip/203.0.113.10%2F32`). */
export const ipBlock = (ip: string) => `${requireGrammar(GRAMMAR.ipv4, ip.replace(/\/32$/, ''), 'failoverIps')}/32`;
export const ipPath = (ip: string) => `/ip/${encodeURIComponent(ipBlock(ip))}`;
export const serverPath = (service: string) => `/dedicated/server/${encodeURIComponent(requireGrammar(GRAMMAR.ovhService, service, 'ovhService'))}`;
export const vrackPath = (vrack: string) => `/vrack/${encodeURIComponent(requireGrammar(GRAMMAR.ovhVrack, vrack, 'ovh.vrack'))}`;
