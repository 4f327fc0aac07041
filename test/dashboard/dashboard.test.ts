import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard, nodeImportsOf } from '../../dashboard/build.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { call, startHarness, type Harness } from '../e2e/harness.ts';

/**
 * The dashboard in a real browser (headless Chromium from the Debian `chromium` package, driven
 * by playwright-core) against the real stack under the local runtime: the page is the built
 * dashboard the stack deploys, served by the local CDN from the local S3 bucket.
 * `DASHBOARD_SCREENSHOT=docs/dashboard.png` also saves the screenshot the README shows.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}: install the Debian package (apt-get install -y --no-install-recommends chromium)`);
if (!hasChromium) console.warn(`dashboard.test.ts browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const root = path.resolve(import.meta.dirname, '../..');

describe('dashboard bundle', () => {
  it('bundles app.ts with the client SDK for browsers, with no Node built-ins', () => {
    // Prepare
    const outDir = mkdtempSync(path.join(tmpdir(), 'offload-dashboard-'));
    try {
      // Act
      const { metafile } = buildDashboard(outDir);
      // Assess
      const inputs = Object.keys(metafile.inputs);
      expect(nodeImportsOf(metafile)).toEqual([]);
      expect(inputs).toContain('client/sdk/watch.ts');
      expect(inputs.every((input) => input.startsWith('client/sdk/') || input.startsWith('dashboard/'))).toBe(true);
      for (const file of ['index.html', 'app.js', 'styles.css']) expect(existsSync(path.join(outDir, file)), file).toBe(true);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasChromium)('dashboard in headless Chromium', { timeout: 180_000 }, () => {
  let harness: Harness;
  let browser: Browser;
  let dashboard: string;
  let devKey: string;
  const problems: string[] = [];

  /** A fresh browser context (own sessionStorage) with a page that records console errors and page errors. */
  const openPage = async (): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
    return { context, page };
  };

  beforeAll(async () => {
    harness = await startHarness();
    dashboard = harness.runtime.endpoints.dashboard;
    devKey = harness.runtime.endpoints.devTenant.apiKey;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await harness?.stop();
  });

  it('is served by the local CDN from the deployed bucket, with the dev tenant pre-filled as a client token', async () => {
    // Act
    const page = await call(dashboard);
    const config = await call(new URL('config.json', dashboard).href);
    const missing = await call(new URL('missing.html', dashboard).href);
    const script = new URL('app.js', dashboard).href;
    const scriptAgain = (await call(script), await call(script));
    const post = await call(dashboard, { method: 'POST', body: {} });
    // Assess
    expect(dashboard).toBe(`${harness.runtime.endpoints.cdn}/dashboard/index.html`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('Offload');
    expect(config.body.webSocketUrl).toBe(harness.runtime.endpoints.webSocketApi);
    expect(config.body.devCredential.token).toMatch(/^oft_/);
    expect(config.text).not.toContain(devKey);
    expect(config.headers.get('cache-control')).toBe('no-store');
    expect(missing.status).toBe(403);
    // The /dashboard/* behaviour: CachingOptimized honours the objects' Cache-Control; GET and HEAD only.
    expect(scriptAgain.headers.get('x-cache')).toBe('Hit from cloudfront');
    expect(scriptAgain.headers.get('cache-control')).toBe('public, max-age=60');
    expect(post.status).toBe(403);
  });

  it('submits a completion, streams its text live to succeeded, lists it, and shows queue depths', async () => {
    // Prepare: two messages parked in the analytics DLQ (nothing consumes a DLQ) make a depth to look for.
    const sqs = new SQSClient({ endpoint: harness.runtime.endpoints.services.sqs, region: 'us-east-1', credentials: localCredentials });
    for (const body of ['one', 'two']) await sqs.send(new SendMessageCommand({ QueueUrl: harness.runtime.endpoints.resources.queues.analytics.deadLetterUrl, MessageBody: body }));
    sqs.destroy();
    const { context, page } = await openPage();
    await page.goto(dashboard);
    await page.locator('#app').waitFor({ state: 'visible' });
    // Record every length the streamed text goes through.
    await page.evaluate(() => {
      const stream = document.getElementById('detail-stream')!;
      const lengths: number[] = [];
      (window as unknown as { lengths: number[] }).lengths = lengths;
      new MutationObserver(() => lengths.push(stream.textContent?.length ?? 0)).observe(stream, { childList: true, characterData: true, subtree: true });
    });
    // Act
    await page.fill('#prompt', 'Why should a backend acknowledge work fast and do the work in the background?');
    await page.fill('#max-tokens', '80');
    await page.selectOption('#model', 'sim-1');
    await page.click('#submit');
    await page.locator('#detail[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const taskId = await page.locator('#detail').getAttribute('data-task-id');
    const streamed = await page.locator('#detail-stream').textContent();
    const lengths = await page.evaluate(() => (window as unknown as { lengths: number[] }).lengths);
    const row = page.locator(`#tasks tr[data-task-id="${taskId}"]`);
    await row.locator('.status', { hasText: 'succeeded' }).waitFor();
    await page.locator('#queues tr[data-class="analytics"] td[data-field="deadLetter"]', { hasText: '2' }).waitFor({ timeout: 20_000 });
    const depths = await page.$$eval('#queues tbody tr', (rows) =>
      rows.map((tr) => ({ class: tr.getAttribute('data-class'), cells: Array.from(tr.querySelectorAll('td[data-field]')).map((cell) => cell.textContent) })),
    );
    if (process.env.DASHBOARD_SCREENSHOT) {
      const file = path.resolve(root, process.env.DASHBOARD_SCREENSHOT);
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, fullPage: true });
    }
    const task = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks/${taskId}`, { apiKey: devKey });
    await context.close();
    // Assess: the text arrived in several steps, is exactly the result, and the rest of the page agrees.
    expect(taskId).toMatch(/^tsk_/);
    expect(task.body.status).toBe('succeeded');
    expect(streamed).toBe(task.body.result.text);
    expect(new Set(lengths.filter((length) => length > 0 && length < streamed!.length)).size).toBeGreaterThanOrEqual(2);
    expect(depths.map((depth) => depth.class)).toEqual(['interactive', 'batch', 'integrations', 'analytics']);
    for (const depth of depths) for (const cell of depth.cells) expect(cell).toMatch(/^\d+$/);
    expect(depths.find((depth) => depth.class === 'analytics')!.cells[2]).toBe('2');
    expect(problems).toEqual([]);
  });

  it('asks for a credential once signed out, keeps it in sessionStorage, and pages through that tenant\u2019s tasks', async () => {
    // Prepare: another tenant with more tasks than one page.
    const tenant = await harness.newTenant('dashboard-paging');
    const created: string[] = [];
    for (let i = 0; i < 23; i++) {
      const { body } = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks`, { apiKey: tenant.apiKey, body: { type: 'completion', input: { prompt: `page ${i}`, maxTokens: 1, model: 'sim-fast' } } });
      created.push(body.taskId);
    }
    const { context, page } = await openPage();
    await page.goto(dashboard);
    await page.locator('#app').waitFor({ state: 'visible' });
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
    // Act
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.fill('#credential', 'ofk_not-a-real-key');
    await page.click('#sign-in-form button[type="submit"]');
    await page.locator('#sign-in-error').waitFor({ state: 'visible' });
    const refusal = await page.locator('#sign-in-error').textContent();
    await page.fill('#credential', tenant.apiKey);
    await page.click('#sign-in-form button[type="submit"]');
    await page.locator('#tasks tbody tr').nth(19).waitFor();
    const firstPage = await page.$$eval('#tasks tbody tr', (rows) => rows.map((row) => row.getAttribute('data-task-id')));
    await page.click('#load-more');
    await page.locator('#tasks tbody tr').nth(22).waitFor();
    const all = await page.$$eval('#tasks tbody tr', (rows) => rows.map((row) => row.getAttribute('data-task-id')));
    const loadMoreHidden = await page.locator('#load-more').isHidden();
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('offload.dashboard.credential'), local: localStorage.length, cookie: document.cookie }));
    await page.reload();
    await page.locator('#tasks tbody tr').nth(19).waitFor();
    const label = await page.locator('#session-label').textContent();
    await context.close();
    // Assess
    expect(refusal).toContain('not accepted');
    expect(firstPage).toEqual([...created].reverse().slice(0, 20));
    expect(all).toEqual([...created].reverse());
    expect(loadMoreHidden).toBe(true);
    expect(stored).toEqual({ session: tenant.apiKey, local: 0, cookie: '' });
    expect(label).toContain(`API key …${tenant.apiKey.slice(-4)}`);
    expect(problems.filter((problem) => !problem.includes('401'))).toEqual([]);
  });
});
