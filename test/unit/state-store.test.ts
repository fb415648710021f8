// The state store's directory and file modes: what autok8s creates is 0700/0600; a directory
// it did not create is never chmod-ed (used, or refused with the fix); every file is checked
// when it is read or handed to talosctl, a loose mode repaired, another user's file refused.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StateStore } from '../../activities/talos/state-store';
import { secretFileVerdict, stateDirVerdict, type FileFacts } from '../../core/state/file-modes';

const mode = (p: string) => statSync(p).mode & 0o777;
const isRoot = process.getuid?.() === 0;
let base: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'ak8s-state-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(base, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('the state directory', () => {
  it('is created 0700 with every missing parent, and its sub-directories too', async () => {
    const store = new StateStore(join(base, 'var/lib/autok8s/prod-gra'));
    await store.ensureDir('configs');
    for (const p of ['var', 'var/lib', 'var/lib/autok8s', 'var/lib/autok8s/prod-gra', 'var/lib/autok8s/prod-gra/configs']) expect(mode(join(base, p))).toBe(0o700);
  });

  it('named by the operator and already there keeps its mode (never chmod-ed) when only its owner may write', async () => {
    const dir = join(base, 'mine');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    await new StateStore(dir).ensureDir();
    expect(mode(dir)).toBe(0o755);
  });

  it.each([0o775, 0o777, 0o1777])('named by the operator with mode %o is refused, untouched, with the fix', async (loose) => {
    const dir = join(base, 'shared');
    mkdirSync(dir);
    chmodSync(dir, loose);
    const err = await failure(new StateStore(dir).ensureDir());
    expect(err.type).toBe('StateDirUnsafe');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(`chmod 700 ${dir}`);
    expect(statSync(dir).mode & 0o7777).toBe(loose);
  });

  it.skipIf(!isRoot)('belonging to another user is refused', async () => {
    const dir = join(base, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const err = await failure(new StateStore(dir).ensureDir());
    expect(err.message).toMatch(/belongs to uid 65534, not to the worker's user \(uid 0\)/);
  });
});

describe('secret files in the store', () => {
  it('a loose talosconfig is repaired to 0600 when handed to talosctl, with a warning naming it', async () => {
    const store = new StateStore(base);
    writeFileSync(join(base, 'talosconfig'), 'context: x\n', { mode: 0o644 });
    chmodSync(join(base, 'talosconfig'), 0o644);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await store.securePath('talosconfig')).toBe(join(base, 'talosconfig'));
    expect(mode(join(base, 'talosconfig'))).toBe(0o600);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/talosconfig had mode 0644, readable by others; set to 0600/));
  });

  it('every read checks again: a file loosened after it was written is repaired before it is read', async () => {
    const store = new StateStore(base);
    await store.writeAtomic('secrets.yaml', 'cluster: secret\n');
    expect(mode(join(base, 'secrets.yaml'))).toBe(0o600);
    chmodSync(join(base, 'secrets.yaml'), 0o640);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await store.read('secrets.yaml')).toBe('cluster: secret\n');
    expect(mode(join(base, 'secrets.yaml'))).toBe(0o600);
  });

  it('a missing file is simply absent', async () => {
    const store = new StateStore(base);
    expect(await store.read('kubeconfig')).toBeUndefined();
    expect(await store.securePath('kubeconfig')).toBeUndefined();
  });

  it('a loose file behind a symbolic link is refused, and its target left alone', async () => {
    const outside = join(base, 'elsewhere');
    writeFileSync(outside, 'kubeconfig\n');
    chmodSync(outside, 0o644);
    const store = new StateStore(join(base, 'store'));
    await store.ensureDir();
    symlinkSync(outside, join(base, 'store', 'kubeconfig'));
    const err = await failure(store.read('kubeconfig'));
    expect(err.type).toBe('StateFileUnsafe');
    expect(err.message).toMatch(/symbolic link .* chmod 600 its target/);
    expect(mode(outside)).toBe(0o644);
  });

  it.skipIf(!isRoot)('a file of another user is refused, not read', async () => {
    const store = new StateStore(base);
    writeFileSync(join(base, 'secrets.yaml'), 'planted\n', { mode: 0o600 });
    chownSync(join(base, 'secrets.yaml'), 65534, 65534);
    const err = await failure(store.read('secrets.yaml'));
    expect(err.message).toMatch(/belongs to uid 65534/);
  });
});

describe('mode verdicts', () => {
  const facts = (mode: number, extra: Partial<FileFacts> = {}): FileFacts => ({ mode, ownerUid: 1000, uid: 1000, plain: true, ...extra });
  it.each([
    ['0600 is fine', facts(0o600), { ok: true }],
    ['0400 is fine', facts(0o400), { ok: true }],
    ['0644 is repaired', facts(0o644), { ok: false, repair: true }],
    ['0660 is repaired', facts(0o660), { ok: false, repair: true }],
    ['another owner is refused', facts(0o600, { ownerUid: 0 }), { ok: false, repair: false }],
    ['a loose file behind a link is refused', facts(0o644, { plain: false }), { ok: false, repair: false }],
    ['a tight file behind a link is fine', facts(0o600, { plain: false }), { ok: true }],
  ] as const)('secret file: %s', (_name, f, expected) => {
    expect(secretFileVerdict('/s/f', f)).toMatchObject(expected);
  });

  it.each([
    ['0700 is fine', 0o700, true],
    ['0755 is fine (nothing in it is readable by others)', 0o755, true],
    ['0750 is fine', 0o750, true],
    ['0770 is refused', 0o770, false],
    ['0757 is refused', 0o757, false],
    ['1777 (/tmp) is refused', 0o1777, false],
  ] as const)('state directory: %s', (_name, m, ok) => {
    expect(stateDirVerdict('/d', { ...facts(m), isDirectory: true }).ok).toBe(ok);
  });

  it('a state directory that is a file is refused', () => {
    expect(stateDirVerdict('/d', { ...facts(0o700), isDirectory: false })).toMatchObject({ ok: false, repair: false });
  });
});
