// A person in a real browser (Debian's Chromium through playwright-core) signs in to a real Berth
// process through a real OpenID provider (npm oidc-provider on 127.0.0.1, PKCE required): Berth's
// button, the provider's own login and consent pages, back to Berth's callback, Home, then Start —
// and lands in the unmodified jupyterhub-singleuser server. Someone outside the allowed group is
// turned away at the callback. Screenshots land in the run's directory (kept with BERTH_E2E_KEEP=1).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { startOidcProvider, type OidcPeer } from '../helpers/oidc-provider.ts';
import { eq } from 'drizzle-orm';
import { openDb, schema } from '../../db/client.ts';

const CHROMIUM = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';
// No network here but loopback: keep Chromium from reaching for Google's services.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const IMAGE = process.env.BERTH_E2E_IMAGE ?? 'berth-test/singleuser:3.0.0';
const tag = `berthoidc${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-oidc-browser-'));
const secret = randomBytes(16).toString('hex');
const adminToken = randomBytes(16).toString('hex');

function config(port: number, issuer: string, adminToken: string) {
  return [
    'hub:', `  port: ${port}`, `  data_dir: ${dir}/data`, '  log_level: debug',
    'auth:',
    '  providers:',
    '    - kind: oidc', '      name: university', '      label: Sign in with University', `      issuer: ${issuer}`,
    '      client_id: berth', '      client_secret: ${E2E_OIDC_SECRET}', '      groups_claim: groups',
    '  allowed_groups: [researchers]',
    'services:', '  - name: e2e-admin', '    api_token: ${E2E_ADMIN_TOKEN}', '    admin: true',
    'spawner:', `  image: ${IMAGE}`, '  http_timeout: 90', '  environment:', '    JUPYTERHUB_ACTIVITY_INTERVAL: "5"',
    'docker:', `  name_prefix: ${tag}`, `  home_volume: ${tag}-{username}`, '  extra_labels:', '    berth.test: "1"', '',
  ].join('\n');
}

describe('signing in through an OpenID provider in a real browser', { timeout: 5 * 60_000 }, () => {
  let peer: OidcPeer;
  let berth: BerthProcess;
  let browser: Browser;
  let page: Page;
  const visited: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });

  /** From Berth's login page through the provider's own pages, as `login`. */
  async function signInAs(p: Page, login: string) {
    await p.goto(`${berth.origin}/`);
    assert.match(new URL(p.url()).pathname, /^\/hub\/login/, 'an anonymous visit ends at the login page');
    await Promise.all([p.waitForURL(`${peer.issuer}/interaction/**`), p.click('text=Sign in with University')]);
    await p.fill('input[name=login]', login);
    await p.fill('input[name=password]', 'any password');
    await Promise.all([p.waitForURL(`${peer.issuer}/interaction/**`), p.click('button[type=submit]')]);
    assert.match(await p.textContent('body') ?? '', /Authorize|Continue/, 'the provider asks for consent');
    const [callback] = await Promise.all([
      p.waitForResponse((r) => r.url().startsWith(`${berth.origin}/hub/oauth_callback?`)),
      p.waitForURL(`${berth.origin}/**`),
      p.click('button[type=submit]'),
    ]);
    return callback;
  }

  before(async () => {
    await removeTestObjects('berthoidc'); // what a killed earlier run left
    const port = await freePort();
    peer = await startOidcProvider({
      clients: [{ client_id: 'berth', client_secret: secret, redirect_uris: [`http://127.0.0.1:${port}/hub/oauth_callback`] }],
      accounts: {
        dora: { preferred_username: 'dora', email: 'dora@example.org', email_verified: true, groups: ['researchers', 'hpc'] },
        eve: { preferred_username: 'eve', email: 'eve@example.org', email_verified: true, groups: ['visitors'] },
      },
    });
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, config(port, peer.issuer, adminToken));
    berth = await startBerth({ configFile, port, env: { E2E_OIDC_SECRET: secret, E2E_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('request', (r) => { if (r.isNavigationRequest()) visited.push(`${new URL(r.url()).port}${new URL(r.url()).pathname}`); });
  });

  after(async () => {
    await browser?.close();
    await berth?.kill('SIGTERM');
    await peer?.close();
    await removeTestObjects(tag);
    if (process.env.BERTH_E2E_KEEP) console.log(`oidc browser e2e files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test('the provider\'s own login and consent pages lead back to Berth, logged in at Home', async () => {
    const callback = await signInAs(page, 'dora');
    assert.equal(callback.status(), 302);
    await page.waitForURL(`${berth.origin}/hub/home`);
    const issuerPort = new URL(peer.issuer).port;
    assert.ok(visited.some((v) => v === `${issuerPort}/auth`), `went through the provider's authorize endpoint: ${visited.join(' → ')}`);
    assert.ok(visited.some((v) => v.endsWith('/hub/oauth_callback')), `came back through the callback: ${visited.join(' → ')}`);
    assert.match(await page.textContent('body') ?? '', /dora/);
    assert.match(await page.textContent('#state') ?? '', /not running/);
    await shot('1-home');
    // the groups claim is Berth's groups (read from the process's own database)
    const db = await openDb(`file:${dir}/data/berth.db`, { migrate: false });
    const rows = await db.select({ name: schema.groups.name }).from(schema.userGroups)
      .innerJoin(schema.groups, eq(schema.groups.id, schema.userGroups.groupId))
      .innerJoin(schema.users, eq(schema.users.id, schema.userGroups.userId)).where(eq(schema.users.name, 'dora'));
    db.$client.close();
    assert.deepEqual(rows.map((r) => r.name).sort(), ['hpc', 'researchers']);
  });

  test('Start lands in the real single-user server', async () => {
    await Promise.all([page.waitForURL('**/user/dora/tree**', { timeout: 120_000 }), page.click('text=Start my server')]);
    await page.waitForSelector('#notebook_list, #ipython-main-app, .list_container', { timeout: 30_000 });
    assert.match(await page.title(), /Home|Jupyter|Notebook/i);
    // the page is the server's, not Berth's: the notebook server answers its own API under the prefix
    const api = await page.evaluate(async () => (await fetch('/user/dora/api/status')).status);
    assert.equal(api, 200);
    await shot('2-notebook');
  });

  test('someone outside the allowed group is turned away with a page saying so', async () => {
    const context = await browser.newContext(); // no cookies: a fresh session at the provider too
    const p = await context.newPage();
    try {
      const callback = await signInAs(p, 'eve');
      assert.equal(callback.status(), 403);
      await p.waitForLoadState();
      assert.match(new URL(p.url()).pathname, /\/hub\/oauth_callback/);
      assert.match(await p.textContent('body') ?? '', /"eve" is not allowed to use this hub/);
      await p.screenshot({ path: join(dir, '3-refused.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
