// The directories a fresh Debian 12 LB VM has for the LB programs, and nothing more: what
// the packages ship (`dpkg -L haproxy nginx-common keepalived`), what their maintainer
// scripts and tmpfiles create, and the few base-system ones the push uses. The in-process
// LB host starts from this layout, so a rendered file naming a directory Debian does not
// have fails there as on a real VM (docs/contracts.md §D.1). Data only.
//
// Notably absent: /var/cache/nginx (nginx.org's packages create it; Debian's do not).

export interface DebianDir {
  path: string;
  /** Octal mode, owner and group as a fresh install leaves them. */
  mode: number;
  owner: string;
  group: string;
  /** Which package or mechanism creates it. */
  from: string;
}

export const DEBIAN_LB_DIRS: readonly DebianDir[] = [
  { path: '/etc/haproxy', mode: 0o755, owner: 'root', group: 'root', from: 'haproxy' },
  { path: '/etc/haproxy/errors', mode: 0o755, owner: 'root', group: 'root', from: 'haproxy' },
  { path: '/var/lib/haproxy', mode: 0o755, owner: 'root', group: 'root', from: 'haproxy' },
  { path: '/var/lib/haproxy/dev', mode: 0o755, owner: 'root', group: 'root', from: 'haproxy' },
  { path: '/run/haproxy', mode: 0o2775, owner: 'haproxy', group: 'haproxy', from: 'haproxy /usr/lib/tmpfiles.d/haproxy.conf' },
  { path: '/etc/nginx', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/etc/nginx/conf.d', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/etc/nginx/modules-available', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/etc/nginx/modules-enabled', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/etc/nginx/sites-available', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/etc/nginx/sites-enabled', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/etc/nginx/snippets', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  // nginx's master (root) creates the temp and cache directories below it, owned by its worker user.
  { path: '/var/lib/nginx', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common' },
  { path: '/var/log/nginx', mode: 0o755, owner: 'root', group: 'adm', from: 'nginx-common postinst' },
  { path: '/var/www/html', mode: 0o755, owner: 'root', group: 'root', from: 'nginx-common postinst' },
  { path: '/etc/keepalived', mode: 0o755, owner: 'root', group: 'root', from: 'keepalived (ships only keepalived.conf.sample)' },
  { path: '/etc/ssh', mode: 0o755, owner: 'root', group: 'root', from: 'openssh-server' },
  { path: '/root/.ssh', mode: 0o700, owner: 'root', group: 'root', from: 'cloud-init (authorized_keys)' },
  { path: '/run', mode: 0o755, owner: 'root', group: 'root', from: 'base system' },
  { path: '/run/lock', mode: 0o1777, owner: 'root', group: 'root', from: 'base system' },
  { path: '/run/sshd', mode: 0o755, owner: 'root', group: 'root', from: 'openssh-server (ssh.service RuntimeDirectory)' },
  { path: '/var/cache', mode: 0o755, owner: 'root', group: 'root', from: 'base system' },
  { path: '/var/tmp', mode: 0o1777, owner: 'root', group: 'root', from: 'base system' },
];

/** Whether a directory exists on a fresh Debian LB VM (the layout above and every parent of it). */
export function debianHasDir(path: string): boolean {
  const clean = path.replace(/\/+$/, '') || '/';
  return clean === '/' || DEBIAN_LB_DIRS.some((d) => d.path === clean || d.path.startsWith(`${clean}/`));
}

/**
 * Users (and groups of the same name) of a fresh Debian LB VM that the LB programs' files may
 * name: base-passwd's, and those the packages' postinst adds (haproxy: adduser haproxy).
 */
export const DEBIAN_LB_USERS: readonly string[] = ['root', 'daemon', 'bin', 'sys', 'nobody', 'nogroup', 'adm', 'www-data', 'haproxy', 'sshd'];
