// What the stand-in validators share: their answer, a problem found on a line, and what
// they may know about the host they run on (sandbox/lbhost/debian-layout.ts for the
// in-process host), so a config naming a directory, user or interface the host lacks is
// refused as the real program refuses it.
import { isIpv4 } from '../../../core/net/ipv4';

export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Problem {
  line: number;
  message: string;
}

/** Facts about the host a checker may use; without them the corresponding checks are skipped. */
export interface HostFacts {
  /** Whether a directory exists on the host (nginx creates only the last component of its paths). */
  dirExists?(path: string): boolean;
  /** Users of the host (nginx `user`, HAProxy `user`/`group` are looked up when the file is checked). */
  users?: readonly string[];
  /** Network interfaces of the host (keepalived -t refuses a config naming another). */
  interfaces?: readonly string[];
}

/** Dotted numbers must make an IPv4 address; anything else is a host name (looked up by the program, not here). */
export function plausibleHost(host: string): boolean {
  if (/^[\d.]+$/.test(host)) return isIpv4(host);
  return /^[A-Za-z0-9.-]+$/.test(host);
}
