// `autok8s lb link` refuses bad input before it contacts Temporal: exit 2, naming the field.
// (Its runs against a real worker are in test/workflows/lb-link.test.ts.)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAutok8s } from '../helpers/cli';
import { ROOT } from '../helpers/paths';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'cluster.yaml');
// Nothing listens on port 1: reaching Temporal would fail with exit 1, not 2.
const autok8s = (args: string[]) => runAutok8s(['lb', 'link', ...args], { TEMPORAL_ADDRESS: '127.0.0.1:1' });

describe('autok8s lb link: bad input', () => {
  it.each([
    ['a state other than up or down', ['sideways', '--cluster', 'prod-gra', '--server', 'srv-a'], /argument 'state'.*up, down/],
    ['no --server', ['up', '--cluster', 'prod-gra'], /--server/],
    ['a server name that is not a DNS label', ['up', '--cluster', 'prod-gra', '--server', 'Srv_A'], /--server must be a DNS label/],
    ['a reason over two lines', ['down', '--cluster', 'prod-gra', '--server', 'srv-a', '--reason', 'a\nb'], /--reason must be one line/],
    ['a server not in the spec file', ['up', '-f', FIXTURE, '--server', 'srv-z'], /--server srv-z is not a server of .*cluster\.yaml; use one of srv-a, srv-b, srv-c/],
    ['no cluster at all', ['up', '--server', 'srv-a'], /which cluster\?/],
  ])('refuses %s: exit 2', async (_, args, message) => {
    const { code, stderr } = await autok8s(args);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });

  it('refuses a vrack-block spec: its LB VMs have no public link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak8s-lblink-cli-'));
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, `${readFileSync(FIXTURE, 'utf8')}\npublicPath: { mode: vrack-block, block: 203.0.113.8/29 }\n`);
    const { code, stderr } = await autok8s(['up', '-f', file, '--server', 'srv-a']);
    expect(stderr).toMatch(/publicPath\.mode of .*cluster\.yaml is vrack-block/);
    expect(code).toBe(2);
  });
});
