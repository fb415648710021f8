// The Temporal Web UI as an operator uses it: failover runs started the autok8s way
// (client/start.ts) are found by filtering on the AutoK8sCluster search attribute, and a
// run of another cluster is not. Payloads are encrypted (codec/), and the UI shows a run's
// input decoded through autok8s's codec server. Real dev server with its UI, real worker,
// the sandbox simulators, and Debian's Chromium driven by playwright-core. Leaves
// screenshots in test/output/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodecServer } from '../../codec/codec-server';
import { ENCRYPTED_ENCODING } from '../../codec/encryption-codec';
import { startLocalCodec } from '../../client/dev/local-temporal';
import { freePort, startDevServer, type DevServer } from '../../client/dev/dev-server';
import { startFailover } from '../../client/start';
import { localTemporalConnection } from '../../client/temporal-connection';
import type { ClusterSpec } from '../../core/spec/schema';
import { startSandbox, type Sandbox } from '../../sandbox';
import { createWorker } from '../../worker/worker';
import { ROOT } from '../helpers/paths';
import { requireInCi } from '../helpers/prerequisites';
import { uniqueQueue, waitUntil } from '../helpers/temporal';

const CHROMIUM = '/usr/bin/chromium';
const IP = '203.0.113.10';
const OTHER_CLUSTER = 'other-gra';
const SCREENSHOT = join(ROOT, 'test', 'output', 'web-ui.png');
const RUN_SCREENSHOT = join(ROOT, 'test', 'output', 'web-ui-run-decoded.png');
const REASON = 'web ui test';
/** Bounds every wait on the page: the UI answers in well under a second once the runs are indexed. */
const PAGE_TIMEOUT_MS = 30_000;

let server: DevServer;
let codecServer: CodecServer;
let plainClient: Client;
let box: Sandbox;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let closeWorkerConnection: () => Promise<void>;
let browser: BrowserContext;
let profileDir: string;
const ids: { sandbox?: string; other?: string } = {};

/** The Workflows page of the default namespace with a visibility query, as the UI puts it in its own URL. */
function workflowsUrl(query: string): string {
  return `${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
}

async function openFiltered(page: Page, query: string, expectedId: string): Promise<string> {
  await page.goto(workflowsUrl(query), { waitUntil: 'domcontentloaded', timeout: PAGE_TIMEOUT_MS });
  await page.getByText(expectedId, { exact: true }).first().waitFor({ state: 'visible', timeout: PAGE_TIMEOUT_MS });
  return page.locator('body').innerText({ timeout: PAGE_TIMEOUT_MS });
}

const missingChromium = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;

describe.skipIf(requireInCi(missingChromium, 'the Web UI tier (headless Chromium)'))(`Temporal Web UI (needs ${CHROMIUM}: apt-get install chromium)`, () => {
  beforeAll(async () => {
    box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-webui-')), latency: { ovh: { moveMs: 200 } }, publicProbe: false });
    // Encrypted payloads, and the codec server the UI calls to decode them, behind its token
    // (startLocalCodec: as `autok8s dev` sets it up, the UI's codec endpoint carries the token).
    const uiPort = await freePort();
    const codec = await startLocalCodec(join(box.dir, 'codec'), uiPort);
    codecServer = codec.codecServer;
    const dataConverter = codec.dataConverter;
    server = await startDevServer({ uiPort, uiCodecEndpoint: codec.uiEndpoint });
    const taskQueue = uniqueQueue('web-ui');
    const built = await createWorker({ connection: localTemporalConnection(server.address), taskQueue, dataConverter, deps: { policy: box.workerPolicy, pollIntervalMs: 100 } });
    worker = built.worker;
    closeWorkerConnection = () => built.close();
    running = worker.run();
    client = new Client({ connection: await Connection.connect({ address: server.address }), dataConverter });
    plainClient = new Client({ connection: client.connection });

    // One move on the sandbox cluster, and one on a cluster of another name. Only the name
    // differs, so the second run drives the same simulators (it moves the IP on to srv-c).
    const first = await startFailover(client, taskQueue, box.spec, { ip: IP, to: 'srv-b', reason: REASON });
    expect((await first.handle.result()).moved).toBe(true);
    const other: ClusterSpec = { ...box.spec, metadata: { name: OTHER_CLUSTER } };
    const second = await startFailover(client, taskQueue, other, { ip: IP, to: 'srv-c', reason: 'web ui test, other cluster' });
    expect((await second.handle.result()).moved).toBe(true);
    ids.sandbox = first.workflowId;
    ids.other = second.workflowId;

    // Visibility is eventually consistent: wait until the server's own list has both runs.
    const listed = async (query: string) => {
      const found: string[] = [];
      for await (const w of client.workflow.list({ query })) found.push(w.workflowId);
      return found;
    };
    await waitUntil('both runs are listed by visibility', async () => (await listed('AutoK8sOperation="failover"')).length >= 2, 20_000, 200);

    profileDir = mkdtempSync(join(tmpdir(), 'ak8s-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
      timeout: PAGE_TIMEOUT_MS,
    });
  });

  afterAll(async () => {
    // Each step on its own, so that one failing never leaves the dev server or Chromium running.
    const steps: (() => unknown)[] = [
      () => browser?.close(),
      () => profileDir && rmSync(profileDir, { recursive: true, force: true }),
      () => worker?.getState() === 'RUNNING' && worker.shutdown(),
      () => running,
      () => closeWorkerConnection?.(),
      () => client?.connection.close(),
      () => box?.stop(),
      () => server?.stop(),
      () => codecServer?.close(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch {
        // keep cleaning up
      }
    }
  });

  it('lists the sandbox cluster\'s failover run when filtered on AutoK8sCluster, and not another cluster\'s', async () => {
    expect(ids.sandbox).toBe(`sandbox/failover/${IP}`);
    const page = await browser.newPage();
    const text = await openFiltered(page, 'AutoK8sCluster="sandbox"', ids.sandbox!);
    mkdirSync(join(ROOT, 'test', 'output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    expect(text).toContain(ids.sandbox);
    // The UI took the query from the URL and shows it as its filter.
    expect(text).toMatch(/AutoK8sCluster\s*=\s*"sandbox"/);
    expect(text).toContain('failoverIp');
    expect(text).toMatch(/Completed/i);
    expect(text).not.toContain(ids.other);
    await page.close();
  });

  it('lists the other cluster\'s run under its own filter, so the absence above is the filter at work', async () => {
    expect(ids.other).toBe(`${OTHER_CLUSTER}/failover/${IP}`);
    const page = await browser.newPage();
    const text = await openFiltered(page, `AutoK8sCluster="${OTHER_CLUSTER}"`, ids.other!);
    expect(text).toContain(ids.other);
    expect(text).not.toContain(ids.sandbox);
    await page.close();
  });

  it('shows a run\'s input decoded through the codec server, though the server stores it encrypted', async () => {
    const stored = (await plainClient.workflow.getHandle(ids.sandbox!).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
    expect(Buffer.from(stored.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(stored.data!).toString('latin1')).not.toContain(REASON);

    const page = await browser.newPage();
    await page.goto(`${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(ids.sandbox!)}`, { waitUntil: 'domcontentloaded', timeout: PAGE_TIMEOUT_MS });
    // The input holds the reason in clear only once the UI has had it decoded.
    await page.getByText(REASON, { exact: false }).first().waitFor({ state: 'attached', timeout: PAGE_TIMEOUT_MS });
    const text = await page.locator('body').innerText({ timeout: PAGE_TIMEOUT_MS });
    await page.screenshot({ path: RUN_SCREENSHOT, fullPage: true });
    expect(text).toContain(REASON);
    expect(text).toContain('srv-b');
    await page.close();
  });
});
