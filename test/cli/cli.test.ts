// The autok8s command line as a user runs it: a real process, no TTY, exit codes checked.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { ROOT } from '../helpers/paths';
import { runAutok8s as autok8s } from '../helpers/cli';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'cluster.yaml');

describe('autok8s CLI', () => {
  it('--help lists every command and exits 0', async () => {
    const { code, stdout } = await autok8s(['--help']);
    expect(code).toBe(0);
    for (const command of ['validate', 'schema', 'failover', 'worker', 'dev', 'sandbox']) expect(stdout).toContain(command);
  });

  it('--help of a command shows examples', async () => {
    const { code, stdout } = await autok8s(['failover', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Examples:\n\s+autok8s failover -f cluster.yaml --ip/);
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await autok8s(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('an unknown option is bad input: exit 2', async () => {
    const { code, stderr } = await autok8s(['validate', '-f', FIXTURE, '--frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('validate accepts a good spec, with JSON output for scripts', async () => {
    const { code, stdout } = await autok8s(['validate', '-f', FIXTURE, '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, cluster: 'prod-gra', controlPlanes: 3 });
  });

  it('validate refuses a bad spec with the file, line, field and fix: exit 2, no colour when not a TTY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak8s-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(FIXTURE, 'utf8').replace('ip: 10.10.0.32', 'ip: 10.99.0.32'));
    const { code, stderr, stdout } = await autok8s(['validate', '-f', bad]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/bad\.yaml:\d+:\d+ servers\[1\]\.vms\.worker\.ip: 10\.99\.0\.32 is not a host address inside network\.cidr/);
    expect(stdout + stderr).not.toMatch(/\u001b\[/);
  });

  it('a missing spec file is bad input that says how to pass one', async () => {
    const { code, stderr } = await autok8s(['validate', '-f', '/nonexistent/cluster.yaml']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/file not found; pass the cluster spec with -f/);
  });

  it('failover refuses an IP that is not in the spec before contacting Temporal: exit 2', async () => {
    // Nothing listens on port 1: reaching Temporal would fail with exit 1, not 2.
    const { code, stderr } = await autok8s(['failover', '-f', FIXTURE, '--ip', '198.51.100.7'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/--ip 198\.51\.100\.7 is not in failoverIps .*203\.0\.113\.10/);
  });

  it('failover refuses an unknown --to server: exit 2', async () => {
    const { code, stderr } = await autok8s(['failover', '-f', FIXTURE, '--ip', '203.0.113.10', '--to', 'srv-z'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/--to srv-z is not a server .* srv-a, srv-b, srv-c/);
  });

  it('failover exits 1 with a clear message when Temporal is unreachable', async () => {
    const { code, stderr } = await autok8s(['failover', '-f', FIXTURE, '--ip', '203.0.113.10'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/127\.0\.0\.1:1/);
  });

  it('Temporal connection settings that cannot be used are bad input: exit 2 before connecting, naming the variable', async () => {
    const halfPair = await autok8s(['failover', '-f', FIXTURE, '--ip', '203.0.113.10'], { TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_TLS_CLIENT_CERT_PATH: FIXTURE });
    expect(halfPair.code).toBe(2);
    expect(halfPair.stderr).toContain('have a client certificate but no key to go with it; set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) too');
    const noProfile = await autok8s(['bootstrap', '-f', FIXTURE], { TEMPORAL_CONFIG_FILE: join(tmpdir(), 'no-such-temporal.toml') });
    expect(noProfile.code).toBe(2);
    expect(noProfile.stderr).toMatch(/TEMPORAL_CONFIG_FILE names .*no-such-temporal\.toml, which does not exist/);
  });

  it('schema prints a JSON Schema that editors can use', async () => {
    const { code, stdout } = await autok8s(['schema']);
    expect(code).toBe(0);
    const schema = JSON.parse(stdout);
    expect(schema.properties.servers.type).toBe('array');
    expect(schema.required).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'metadata', 'ovh', 'servers']));
  });

  it('payload-keys add makes a 0600 keyring, rotates it with the new key on top, and list shows the IDs', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ak8s-keys-')), 'keys');
    const first = await autok8s(['payload-keys', 'add', file, '--id', 'one', '--output', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ file, added: 'one', keys: ['one'] });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await autok8s(['payload-keys', 'add', file, '--id', 'two', '--output', 'json']);
    expect(JSON.parse(second.stdout).keys).toEqual(['two', 'one']);
    const again = await autok8s(['payload-keys', 'add', file, '--id', 'two']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`autok8s: ${file} already has a key two; choose another ID (--id)`);
    // list names the keys and the one that encrypts, from the argument or the environment, and never prints a key.
    const listed = await autok8s(['payload-keys', 'list', '--output', 'json'], { AUTOK8S_PAYLOAD_KEYS: file });
    expect(JSON.parse(listed.stdout)).toEqual({ file, current: 'two', keys: ['two', 'one'] });
    const text = await autok8s(['payload-keys', 'list', file]);
    expect(text.stdout).toMatch(/two\s+\(encrypts; decrypts\)\n\s+one\s+\(decrypts\)/);
    for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))) expect(text.stdout).not.toContain(line.split(' ')[1]);
    const none = await autok8s(['payload-keys', 'list'], { AUTOK8S_PAYLOAD_KEYS: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('name the keyring file, or set AUTOK8S_PAYLOAD_KEYS');
  });

  it('codec-server refuses to start without a keyring, a bad origin, or nothing to tell callers apart: exit 2', async () => {
    const noKeys = await autok8s(['codec-server'], { AUTOK8S_PAYLOAD_KEYS: '' });
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toMatch(/AUTOK8S_PAYLOAD_KEYS is not set; point it at the keyring the workers use/);
    const file = join(mkdtempSync(join(tmpdir(), 'ak8s-keys-')), 'keys');
    await autok8s(['payload-keys', 'add', file]);
    const badOrigin = await autok8s(['codec-server', '--allow-origin', 'localhost:8233'], { AUTOK8S_PAYLOAD_KEYS: file });
    expect(badOrigin.code).toBe(2);
    expect(badOrigin.stderr).toMatch(/--allow-origin localhost:8233: give an origin such as http:\/\/localhost:8233/);
    const open = await autok8s(['codec-server'], { AUTOK8S_PAYLOAD_KEYS: file, AUTOK8S_CODEC_TOKEN: '' });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('the codec server decrypts for whoever it answers: set AUTOK8S_CODEC_TOKEN or --token-file (a token from "openssl rand -hex 32"), or require client certificates with --client-ca');
    const weak = await autok8s(['codec-server'], { AUTOK8S_PAYLOAD_KEYS: file, AUTOK8S_CODEC_TOKEN: 'letmein' });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/AUTOK8S_CODEC_TOKEN: the codec server's token must be at least 24 characters/);
    const tokenFile = join(dirname(file), 'token');
    writeFileSync(tokenFile, `${'f'.repeat(64)}\n`, { mode: 0o644 });
    chmodSync(tokenFile, 0o644);
    const exposed = await autok8s(['codec-server', '--token-file', tokenFile], { AUTOK8S_PAYLOAD_KEYS: file });
    expect(exposed.code).toBe(2);
    expect(exposed.stderr).toContain(`--token-file: ${tokenFile} can be read by others (mode 644); run "chmod 600 ${tokenFile}"`);
    const mtlsWithoutTls = await autok8s(['codec-server', '--client-ca', tokenFile], { AUTOK8S_PAYLOAD_KEYS: file });
    expect(mtlsWithoutTls.code).toBe(2);
    expect(mtlsWithoutTls.stderr).toContain('--client-ca needs --tls-cert and --tls-key');
  });

  it('worker refuses a keyring it cannot read or a deployment name Temporal would refuse, before contacting Temporal: exit 2', async () => {
    // The worker is loaded from source, not from the CLI bundle: its errors still count as bad input.
    const noKeys = await autok8s(['worker'], { TEMPORAL_ADDRESS: '127.0.0.1:1', AUTOK8S_PAYLOAD_KEYS: '/nonexistent/payload-keys' });
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toMatch(/cannot read the payload keys at \/nonexistent\/payload-keys/);
    const dotted = await autok8s(['worker'], { TEMPORAL_ADDRESS: '127.0.0.1:1', AUTOK8S_PAYLOAD_KEYS: '', AUTOK8S_DEPLOYMENT_NAME: 'autok8s.prod' });
    expect(dotted.code).toBe(2);
    expect(dotted.stderr).toMatch(/deployment name "autok8s\.prod" \(AUTOK8S_DEPLOYMENT_NAME\) holds a dot/);
  });

  it('codec-server serves /encode and /decode with the keyring, to callers with the token, until stopped', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ak8s-keys-')), 'keys');
    await autok8s(['payload-keys', 'add', file, '--id', 'cli']);
    const token = randomBytes(32).toString('hex');
    const tokenFile = join(dirname(file), 'token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'autok8s.js'), 'codec-server', '--port', '0', '--token-file', tokenFile, '--output', 'json'], { cwd: ROOT, env: { ...process.env, AUTOK8S_PAYLOAD_KEYS: file }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const started = await new Promise<{ url: string; keyId: string }>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          try {
            resolve(JSON.parse(out));
          } catch {
            // not the whole line yet
          }
        });
        child.once('exit', (code) => reject(new Error(`codec-server exited ${code}: ${out}`)));
      });
      expect(started.keyId).toBe('cli');
      expect(JSON.stringify(started)).not.toContain(token);
      const plain = defaultPayloadConverter.toPayload({ hello: 'world' });
      const wire = { metadata: Object.fromEntries(Object.entries(plain.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(plain.data!).toString('base64') };
      const post = async (route: string, payloads: unknown[]) =>
        ((await (await fetch(`${started.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ payloads }) })).json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
      expect((await fetch(`${started.url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: [wire] }) })).status).toBe(401);
      const [encrypted] = await post('/encode', [wire]);
      expect(Buffer.from(encrypted.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
      const [decoded] = await post('/decode', [encrypted]);
      expect(decoded).toEqual(wire);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    }
    expect(child.exitCode).toBe(0);
  });
});
