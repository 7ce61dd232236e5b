// A shared computer: a seat kept in localStorage is offered, not taken.
//
//   node --test tests/browser/          (from the repo root; see README.md)
//
// A host creates a game and a player joins it. Then, with the same storage
// but a tab that was never in the game (a new tab of the same profile, or a
// new browser session restored from the same profile), the pages ask
// "Continue as NICK in game PIN?" / "Continue hosting game PIN?" and open
// no WebSocket until Continue; a reload of a tab that was in the game
// rejoins without asking. And a group label's games come only from the
// browser that created the group or from whoever types its secret.
// Screenshots go to tests/browser/artifacts/resume/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'resume');

const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});
const shot = shooter(ARTIFACTS);

/** Counts the WebSockets a page opens. */
function countSockets(page) {
  const seen = { n: 0 };
  page.on('websocket', () => seen.n++);
  return seen;
}

test('a seat from another tab is offered first; a reload takes it back at once', { timeout: 180_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const ann = await actor(env.browser, 'ann', { width: 390, height: 844 });
  const actors = [host, ann];
  try {
    // -- a game, and Ann in it --
    await host.page.goto(`${env.base}/?host`);
    await host.page.waitForSelector('.bank-card input[value="mini"]');
    await host.page.click('#host-btn');
    await viewIs(host.page, 'lobby');
    const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
    await ann.page.goto(`${env.base}/?pin=${pin}`);
    await ann.page.fill('#join-nick', 'Ann');
    await ann.page.click('#join-btn');
    await viewIs(ann.page, 'lobby');
    await host.page.waitForFunction(() => document.getElementById('lobby-count').textContent === '1');

    // -- a reload of Ann's tab: straight back in, nothing asked --
    const annSockets = countSockets(ann.page);
    await ann.page.reload();
    await viewIs(ann.page, 'lobby');
    assert.equal(annSockets.n, 1, 'the reload rejoined over a new WebSocket');
    assert.equal(await text(ann.page, '#lobby-nick'), 'Ann');

    // -- a new tab of the same profile (localStorage, no sessionStorage) --
    const tab = await ann.context.newPage();
    const tabSockets = countSockets(tab);
    await tab.goto(`${env.base}/`);
    await tab.waitForSelector('#resume:not([hidden])');
    assert.equal(await text(tab, '#resume-text'), `Continue as Ann in game ${pin}?`);
    assert.equal(await text(tab, '#resume-btn'), 'Continue');
    assert.equal(await text(tab, '#resume-forget'), 'Start fresh');
    assert.equal(await tab.evaluate(() => document.body?.dataset.view), 'landing');
    assert.equal(tabSockets.n, 0, 'no WebSocket before Continue');
    assert.equal(await tab.evaluate(() => window.chainquiz.state.session), null, 'no seat taken');
    await shot(ann, 'player-asked', tab);
    // Continue: the seat moves to this tab (the old one is replaced).
    await tab.click('#resume-btn');
    await viewIs(tab, 'lobby');
    assert.equal(tabSockets.n, 1);
    assert.equal(await text(tab, '#lobby-nick'), 'Ann');
    // ...and a reload of it asks no more.
    await tab.reload();
    await viewIs(tab, 'lobby');
    assert.equal(tabSockets.n, 2);

    // Start fresh: the stored seat is forgotten.
    const other = await ann.context.newPage();
    await other.goto(`${env.base}/`);
    await other.waitForSelector('#resume:not([hidden])');
    await other.click('#resume-forget');
    await other.waitForSelector('#resume', { state: 'hidden' });
    assert.equal(await other.evaluate(() => localStorage.getItem('chainquiz.player')), null);
    await other.close();

    // -- the host's screen, in a new browser session from the same profile --
    const state = await host.context.storageState();
    const ctx2 = await env.browser.newContext({ storageState: state, viewport: { width: 1280, height: 800 } });
    const host2 = { name: 'host2', context: ctx2, page: await ctx2.newPage(), dialogs: [], errors: [], csp: [] };
    host2.page.on('pageerror', (e) => host2.errors.push(String(e)));
    actors.push(host2);
    const hostSockets = countSockets(host2.page);
    await host2.page.goto(`${env.base}/host.html`);
    await viewIs(host2.page, 'resume');
    assert.equal(await text(host2.page, '#resume-title'), `Continue hosting game ${pin}?`);
    assert.equal(hostSockets.n, 0, 'no WebSocket before Continue');
    await shot(host2, 'host-asked');
    await host2.page.click('#resume-continue');
    await viewIs(host2.page, 'lobby');
    assert.equal(hostSockets.n, 1);
    assert.equal((await text(host2.page, '#pin-big')).replace(/\s+/g, ''), pin);
    await host2.page.waitForFunction(() => document.getElementById('lobby-count').textContent === '1');
    // A reload of that tab takes the game back without asking.
    await host2.page.reload();
    await viewIs(host2.page, 'lobby');
    assert.equal(hostSockets.n, 2);

    // The original host tab reloads as before (its tab was in the game).
    await host.page.reload();
    await viewIs(host.page, 'lobby');

    // Start fresh on the host's screen: back to the host form, seat forgotten.
    const host3 = await ctx2.newPage();
    await host3.goto(`${env.base}/host.html`);
    await viewIs(host3, 'resume');
    await host3.click('#resume-fresh');
    await host3.waitForURL(/\?host$/);
    assert.equal(await host3.evaluate(() => localStorage.getItem('chainquiz.host')), null);
    await assertClean(actors);
  } catch (e) {
    for (const a of actors) await a.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${a.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    for (const a of actors) await a.context.close().catch(() => {});
  }
});

/** A host creates a game from the start page, with a group label and,
 * optionally, a typed group secret; resolves to the host.html view reached. */
async function createWithGroup(a, group, typedSecret) {
  await a.page.goto(`${env.base}/?host`);
  await a.page.waitForSelector('.bank-card input[value="mini"]');
  await a.page.fill('#opt-group', group);
  if (typedSecret) await a.page.fill('#opt-group-secret', typedSecret);
  await a.page.click('#host-btn');
  await a.page.waitForFunction(() => ['lobby', 'gone'].includes(document.body?.dataset.view));
  return a.page.evaluate(() => document.body?.dataset.view);
}

test('a group label belongs to the browser that created it, or to whoever has its secret', { timeout: 180_000 }, async () => {
  const teacher = await actor(env.browser, 'teacher', { width: 1280, height: 800 });
  const other = await actor(env.browser, 'other-device', { width: 1280, height: 800 });
  const actors = [teacher, other];
  try {
    // The first game of the label creates the group; the secret is kept
    // and shown folded away (the lobby is on the projector).
    assert.equal(await createWithGroup(teacher, 'class-r'), 'lobby');
    assert.equal(await teacher.page.isVisible('#group-secret'), true);
    assert.equal(await teacher.page.evaluate(() => document.getElementById('group-secret').open), false);
    const secret = (await teacher.page.locator('#group-secret-value').textContent()).trim();
    assert.match(secret, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(await teacher.page.evaluate(() => localStorage.getItem('chainquiz.group:class-r')), secret);
    await teacher.page.click('#group-secret summary');
    await shot(teacher, 'group-secret-open');

    // Another device without the secret: refused, and told why.
    assert.equal(await createWithGroup(other, 'class-r'), 'gone');
    assert.equal(await text(other.page, '#gone-title'), 'Could not create the game');
    assert.match(await text(other.page, '#gone-text'), /belongs to the host who created it/);
    await shot(other, 'group-refused');
    // A wrong secret: refused too.
    assert.equal(await createWithGroup(other, 'class-r', 'not-the-secret'), 'gone');
    assert.match(await text(other.page, '#gone-text'), /does not belong to this group/);
    // With the secret typed in: created, and remembered for next time.
    assert.equal(await createWithGroup(other, 'class-r', secret), 'lobby');
    assert.equal(await other.page.evaluate(() => localStorage.getItem('chainquiz.group:class-r')), secret);
    assert.equal(await createWithGroup(other, 'class-r'), 'lobby');

    // The teacher's own browser sends the kept secret by itself.
    assert.equal(await createWithGroup(teacher, 'class-r'), 'lobby');
    await assertClean(actors);
  } catch (e) {
    for (const a of actors) await a.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${a.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    for (const a of actors) await a.context.close().catch(() => {});
  }
});
