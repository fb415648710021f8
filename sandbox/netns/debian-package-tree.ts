// A fresh Debian 12 LB VM's own directories, built in a scratch tree from Debian's packages
// as installed on this machine: every file the packages list under /etc and /var (`dpkg -L`),
// checked against the checksums dpkg recorded at install (conffiles included), so an edit to
// this machine's /etc never leaks into the "stock" VM; then what the maintainer scripts and
// tmpfiles do on a fresh install (docs/contracts.md §D.1). The tree is mounted over /etc/…,
// /var, /run and /root inside a private mount namespace (debian-host.ts).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DEBIAN_LB_DIRS } from '../lbhost/debian-layout';

const run = promisify(execFile);

/** The LB VM's packages whose /etc and /var files the tree holds. */
export const LB_PACKAGES = ['haproxy', 'nginx-common', 'keepalived'] as const;

async function dpkgQuery(args: string[]): Promise<string> {
  return (await run('dpkg-query', args, { maxBuffer: 8 * 1024 * 1024 })).stdout;
}

/** md5 dpkg recorded for each file of a package (conffiles from the status database, the rest from <pkg>.md5sums). */
async function recordedMd5s(pkg: string): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const line of (await dpkgQuery(['-W', '-f=${Conffiles}\\n', pkg])).split('\n')) {
    const m = /^\s*(\/\S+)\s+([0-9a-f]{32})/.exec(line);
    if (m) sums.set(m[1], m[2]);
  }
  const file = `/var/lib/dpkg/info/${pkg}.md5sums`;
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([0-9a-f]{32})\s+(\S.*)$/.exec(line);
      if (m) sums.set(`/${m[2]}`, m[1]);
    }
  }
  return sums;
}

const uidOf = async (user: string) => Number((await run('id', ['-u', user])).stdout.trim());
const gidOf = async (group: string) => Number((await run('getent', ['group', group])).stdout.split(':')[2]);

/** Builds the tree under `root`: root/etc/…, root/var/…, root/run/…, root/root/…. */
export async function buildDebianLbTree(root: string): Promise<void> {
  const into = (path: string) => join(root, path);
  const ids = new Map<string, number>();
  const id = async (kind: 'u' | 'g', name: string) => {
    const key = `${kind}:${name}`;
    if (!ids.has(key)) ids.set(key, kind === 'u' ? await uidOf(name) : await gidOf(name));
    return ids.get(key)!;
  };
  const own = async (path: string, mode: number, owner: string, group: string) => {
    chownSync(into(path), await id('u', owner), await id('g', group));
    chmodSync(into(path), mode);
  };

  for (const dir of DEBIAN_LB_DIRS) mkdirSync(into(dir.path), { recursive: true });
  for (const pkg of [...LB_PACKAGES, ...(await nginxModulePackages())]) {
    const md5s = await recordedMd5s(pkg);
    for (const path of (await dpkgQuery(['-L', pkg])).split('\n')) {
      if (!/^\/(etc|var)\//.test(path)) continue;
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        mkdirSync(into(path), { recursive: true });
        continue;
      }
      mkdirSync(dirname(into(path)), { recursive: true });
      if (st.isSymbolicLink()) {
        symlinkSync(readlinkSync(path), into(path));
        continue;
      }
      const want = md5s.get(path);
      const have = createHash('md5').update(readFileSync(path)).digest('hex');
      if (want !== undefined && want !== have) {
        throw new Error(
          `${path} on this machine differs from what package ${pkg} installed (md5 ${have}, dpkg recorded ${want}), so it cannot stand for a stock Debian file; ` +
            `restore it with: apt-get install --reinstall -o Dpkg::Options::=--force-confask -o Dpkg::Options::=--force-confnew ${pkg}`,
        );
      }
      copyFileSync(path, into(path));
      chmodSync(into(path), st.mode & 0o7777);
    }
  }

  // What the maintainer scripts do on a fresh install.
  // nginx-common.postinst: log directory and files, the default site, the default page.
  for (const log of ['/var/log/nginx/access.log', '/var/log/nginx/error.log']) {
    writeFileSync(into(log), '');
    await own(log, 0o640, 'www-data', 'adm');
  }
  symlinkSync('/etc/nginx/sites-available/default', into('/etc/nginx/sites-enabled/default'));
  copyFileSync('/usr/share/nginx/html/index.html', into('/var/www/html/index.nginx-debian.html'));
  // libnginx-mod-*.postinst: `ln -sf /usr/share/nginx/modules-available/<from> /etc/nginx/modules-enabled/<to>`.
  for (const pkg of await nginxModulePackages()) {
    const postinst = readFileSync(`/var/lib/dpkg/info/${pkg}.postinst`, 'utf8');
    for (const pair of /for confpair in ([^;]*);/.exec(postinst)?.[1].trim().split(/\s+/) ?? []) {
      const [from, to] = pair.split(':');
      symlinkSync(`/usr/share/nginx/modules-available/${from}`, into(`/etc/nginx/modules-enabled/${to}`));
    }
  }
  // Ownership and modes last, over whatever the copies left (haproxy's tmpfiles.d: /run/haproxy 2775 haproxy:haproxy).
  for (const dir of DEBIAN_LB_DIRS) await own(dir.path, dir.mode, dir.owner, dir.group);
  // Merged /usr: /var/run and /var/lock point into /run, as on every Debian system.
  symlinkSync('/run', into('/var/run'));
  symlinkSync('/run/lock', into('/var/lock'));
}

/** The nginx module packages installed here (nginx-light depends on them; their postinst enables them). */
async function nginxModulePackages(): Promise<string[]> {
  const out = await dpkgQuery(['-W', '-f=${Package} ${db:Status-Abbrev}\\n', 'libnginx-mod-*']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([name, status]) => name && status?.startsWith('ii'))
    .map(([name]) => name);
}
