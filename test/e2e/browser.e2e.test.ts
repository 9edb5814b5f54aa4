// A person in a real browser (Debian's Chromium through playwright-core): logs in with the form,
// presses Start, watches the progress page hand over to the unmodified jupyterhub-singleuser
// server (through its OAuth redirects and Berth's proxy), and stops the server from Home.
// Screenshots of each step land in the run's directory (kept with BERTH_E2E_KEEP=1).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { e2eConfig, freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';

const CHROMIUM = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';
// No network here but loopback: keep Chromium from reaching for Google's services.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const IMAGE = process.env.BERTH_E2E_IMAGE ?? 'berth-test/singleuser:3.0.0';
const tag = `berthbrowser${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-browser-'));
const password = 'browser shared password';

describe('a person in a real browser', { timeout: 5 * 60_000 }, () => {
  let berth: BerthProcess;
  let browser: Browser;
  let page: Page;
  const visited: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });

  before(async () => {
    await removeTestObjects('berthbrowser'); // what a killed earlier run left
    const port = await freePort();
    const configFile = join(dir, 'berth.yaml');
    const adminToken = randomBytes(16).toString('hex');
    writeFileSync(configFile, e2eConfig({ dir, tag, port, image: IMAGE, adminToken, password }));
    berth = await startBerth({ configFile, port, env: { E2E_PASSWORD: password, E2E_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    // every request, redirect hops included (they are not frame navigations)
    page.on('request', (r) => { if (r.isNavigationRequest()) visited.push(new URL(r.url()).pathname); });
  });

  after(async () => {
    await browser?.close();
    await berth?.kill('SIGTERM');
    await removeTestObjects(tag);
    if (process.env.BERTH_E2E_KEEP) console.log(`browser e2e files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test('the login form lets a user in and lands on Home', async () => {
    await page.goto(`${berth.origin}/`);
    assert.match(new URL(page.url()).pathname, /^\/hub\/login/, 'an anonymous visit ends at the login form');
    await page.fill('input[name=username]', 'carol');
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    assert.match(await page.textContent('body') ?? '', /Invalid username or password/);
    await page.fill('input[name=username]', 'carol');
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForURL('**/hub/home'), page.click('button[type=submit]')]);
    assert.match(await page.textContent('#state') ?? '', /not running/);
    await shot('1-home');
  });

  test('Start shows live progress, then lands in the notebook server', async () => {
    await Promise.all([page.waitForURL('**/user/carol/tree**', { timeout: 120_000 }), page.click('text=Start my server')]);
    assert.ok(visited.some((p) => p.startsWith('/hub/spawn-pending/carol')), `went through the progress page: ${visited.join(' → ')}`);
    assert.ok(visited.includes('/hub/api/oauth2/authorize') && visited.includes('/user/carol/oauth_callback'), `OAuth through the hub: ${visited.join(' → ')}`);
    await page.waitForSelector('#notebook_list, #ipython-main-app, .list_container', { timeout: 30_000 });
    const title = await page.title();
    assert.match(title, /Home|Jupyter|Notebook/i, `the notebook UI: title ${title}`);
    await shot('2-notebook');
  });

  test('Home shows the server running; Stop stops it', async () => {
    await page.goto(`${berth.origin}/hub/home`);
    assert.match(await page.textContent('#state') ?? '', /running/);
    await shot('3-home-running');
    await Promise.all([page.waitForEvent('load'), page.click('#stop')]);
    await page.waitForFunction(`/not running/.test(document.getElementById('state')?.textContent ?? '')`, undefined, { timeout: 30_000 });
    await shot('4-home-stopped');
  });
});
