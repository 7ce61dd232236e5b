// Reconnects after the network returns: a phone whose connection dropped
// waits out an exponential back-off between tries (0.5 s, 1 s, 2 s, 4 s, up
// to 10 s), so when its Wi-Fi came back it used to sit for up to ~10 s
// before trying again. It now tries at once on the browser's `online`
// event, and when the tab becomes visible again, and says so with one calm
// "Reconnecting…" rather than a message per attempt. The network is cut
// with Playwright's context.setOffline(). Timings are measured in the page
// (Date.now() at the event and when the seat is back) and printed.
// Screenshots go to tests/browser/artifacts/reconnect/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'reconnect');

const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});
const shot = shooter(ARTIFACTS);

async function createGame(host) {
  await host.page.goto(`${env.base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  return (await text(host.page, '#pin-big')).replace(/\s+/g, '');
}

async function joinAs(a, pin, nickname) {
  await a.page.goto(`${env.base}/?pin=${pin}`);
  await a.page.fill('#join-nick', nickname);
  await a.page.click('#join-btn');
  await viewIs(a.page, 'lobby');
}

/** Records every text the connection banner shows (a live region: each
 * change is read out), and the attempts, from now on. */
function watchBanner(page) {
  return page.evaluate(() => {
    const n = document.getElementById('conn');
    window.__banner = [];
    let last = n.hidden ? '' : n.textContent;
    new MutationObserver(() => {
      const now = n.hidden ? '' : n.textContent;
      if (now !== last) window.__banner.push(now);
      last = now;
    }).observe(n, { childList: true, characterData: true, subtree: true, attributes: true });
  });
}

/** Cuts the network until the back-off has grown to `attempts` tries, so
 * that the pending retry is seconds away. */
async function offlineUntilBackedOff(a, attempts) {
  await a.context.setOffline(true);
  await a.page.waitForFunction(() => document.body.dataset.conn === 'reconnecting');
  await a.page.waitForFunction((k) => window.chainquiz.client.attempt >= k && window.chainquiz.client.status === 'reconnecting' && window.chainquiz.client.retryAt - Date.now() > 2000, attempts, {
    timeout: 30_000,
  });
}

/** Waits until the player's seat is back (rejoined: the back-off reset); the
 * page's own clock says when. */
async function backAt(a) {
  const h = await a.page.waitForFunction(
    () => {
      const c = window.chainquiz.client;
      if (!(c.status === 'open' && c.attempt === 0 && document.body?.dataset.view === 'lobby')) return false;
      window.__backAt ??= Date.now();
      return window.__backAt;
    },
    null,
    { polling: 20, timeout: 20_000 },
  );
  return h.jsonValue();
}

test('the network comes back: the phone rejoins at once, with one calm message', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const ann = await actor(env.browser, 'ann', { width: 390, height: 844 });
  const pin = await createGame(host);
  await joinAs(ann, pin, 'Ann');
  await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 1);

  await watchBanner(ann.page);
  await offlineUntilBackedOff(ann, 4);
  await shot(ann, 'offline-reconnecting');
  assert.equal(await text(ann.page, '#conn'), 'Reconnecting…');
  // The moment the browser says the network is back, and how long the old
  // back-off would still have waited.
  await ann.page.evaluate(() => {
    window.addEventListener('online', () => {
      window.__onlineAt = Date.now();
      window.__pendingMs = window.chainquiz.client.retryAt - window.__onlineAt;
    }, { capture: true, once: true });
  });
  await ann.context.setOffline(false);
  const back = await backAt(ann);
  const { onlineAt, pendingMs, banner, attempts } = await ann.page.evaluate(() => ({
    onlineAt: window.__onlineAt,
    pendingMs: window.__pendingMs,
    banner: window.__banner,
    attempts: Number(document.getElementById('conn').dataset.attempt),
  }));
  assert.ok(onlineAt, 'the page saw the online event');
  const tookMs = back - onlineAt;
  console.log(`# online -> rejoined: ${tookMs} ms; the back-off would have waited ${pendingMs} ms more`);
  assert.ok(pendingMs > 2000, `the test is meaningful: the next retry was ${pendingMs} ms away`);
  assert.ok(tookMs < 1500, `rejoined ${tookMs} ms after online`);
  assert.ok(tookMs < pendingMs, `faster than the back-off (${tookMs} ms < ${pendingMs} ms)`);
  // One calm message over at least four failed tries: shown once, then gone.
  assert.deepEqual(banner, ['Reconnecting…', ''], `the banner's texts while away (${attempts} attempts)`);
  await host.page.waitForFunction(() => !document.querySelector('#lobby-players .player-chip.is-away'));
  await shot(ann, 'back-in-lobby');
  await assertClean([host, ann]);
  await ann.context.close();
  await host.context.close();
});

test('the tab becomes visible again: a waiting retry goes at once', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const ben = await actor(env.browser, 'ben', { width: 390, height: 844 });
  const pin = await createGame(host);
  await joinAs(ben, pin, 'Ben');

  await offlineUntilBackedOff(ben, 4);
  // Only the tab's return may trigger the retry here: the online handler
  // is taken away, and the network comes back silently.
  await ben.page.evaluate(() => window.removeEventListener('online', window.chainquiz.client._onOnline));
  await ben.context.setOffline(false);
  await ben.page.waitForFunction(() => navigator.onLine && window.chainquiz.client.status === 'reconnecting' && window.chainquiz.client.retryAt - Date.now() > 1500);
  // The tab is hidden and shown again (as when a phone is unlocked).
  const { shownAt, pendingMs } = await ben.page.evaluate(() => {
    let state = 'hidden';
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    document.dispatchEvent(new Event('visibilitychange'));
    state = 'visible';
    const at = Date.now();
    const pending = window.chainquiz.client.retryAt - at;
    document.dispatchEvent(new Event('visibilitychange'));
    return { shownAt: at, pendingMs: pending };
  });
  const back = await backAt(ben);
  const tookMs = back - shownAt;
  console.log(`# visible -> rejoined: ${tookMs} ms; the back-off would have waited ${pendingMs} ms more`);
  assert.ok(pendingMs > 1500, `the test is meaningful: the next retry was ${pendingMs} ms away`);
  assert.ok(tookMs < pendingMs, `faster than the back-off (${tookMs} ms < ${pendingMs} ms)`);
  assert.ok(tookMs < 1500, `rejoined ${tookMs} ms after the tab was shown`);
  await assertClean([host, ben]);
  await ben.context.close();
  await host.context.close();
});

test('the network comes back while the page still holds a dead socket: a ping decides, not the heartbeat', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const cy = await actor(env.browser, 'cy', { width: 390, height: 844 });
  const pin = await createGame(host);
  await joinAs(cy, pin, 'Cy');
  // A link that died without the browser noticing: the socket stays open
  // but nothing comes through it any more. Then the browser says `online`.
  const { at, probeMs } = await cy.page.evaluate(() => {
    const c = window.chainquiz.client;
    window.__oldWs = c.ws;
    c.ws.onmessage = null;
    const t0 = Date.now();
    window.dispatchEvent(new Event('online'));
    return { at: t0, probeMs: c.opts.probeMs };
  });
  const back = await cy.page.waitForFunction(
    () => {
      const c = window.chainquiz.client;
      if (!(c.ws !== window.__oldWs && c.status === 'open' && c.attempt === 0 && document.body?.dataset.view === 'lobby')) return false;
      return Date.now();
    },
    null,
    { polling: 20, timeout: 20_000 },
  );
  const tookMs = (await back.jsonValue()) - at;
  console.log(`# online with a dead socket -> rejoined on a new one: ${tookMs} ms (ping answer awaited ${probeMs} ms; the heartbeat alone takes up to 25 s)`);
  assert.ok(tookMs >= probeMs, 'the socket had its chance to answer');
  assert.ok(tookMs < probeMs + 2000, `rejoined ${tookMs} ms after online`);
  await assertClean([host, cy]);
  await cy.context.close();
  await host.context.close();
});

test('a phone that drops again and again is told to wait, keeps its seat, and gets back in', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const dee = await actor(env.browser, 'dee', { width: 390, height: 844 });
  const pin = await createGame(host);
  await joinAs(dee, pin, 'Dee');
  const id = await dee.page.evaluate(() => window.chainquiz.state.session.token);
  // Every view the page shows from now on, and every rejoin error it gets.
  await dee.page.evaluate(() => {
    window.__views = [];
    new MutationObserver(() => window.__views.push(document.body.dataset.view)).observe(document.body, { attributes: true, attributeFilter: ['data-view'] });
    window.__errors = [];
    const c = window.chainquiz.client;
    const request = c.request.bind(c);
    c.request = (...args) =>
      request(...args).catch((e) => {
        window.__errors.push(e.code);
        throw e;
      });
  });
  const away = (on) =>
    host.page.waitForFunction((a) => (document.querySelector('#lobby-players .player-chip.is-away') !== null) === a, on, { timeout: 20_000 });
  // The server closes nothing here: the page's own socket is closed, as a
  // flaky network would, and it rejoins after its back-off. The server
  // takes 10 rejoins in a row (PROTOCOL.md, Limits: rejoins of a seat),
  // and then one every 6 s: drops faster than that are refused in the end.
  let drops = 0;
  for (; drops < 30 && (await dee.page.evaluate(() => window.__errors.length)) === 0; drops++) {
    await dee.page.evaluate(() => window.chainquiz.client.ws.close());
    await away(true);
    await away(false);
  }
  // A refused rejoin (`rate_limited`) was tried again after the back-off
  // until the seat's budget let it in: same seat, never the start page.
  assert.equal(await dee.page.evaluate(() => window.chainquiz.state.session?.token), id, 'the seat was kept');
  await viewIs(dee.page, 'lobby');
  const views = await dee.page.evaluate(() => window.__views);
  assert.ok(!views.includes('landing'), `the page left the game: ${views.join(' ')}`);
  const errors = await dee.page.evaluate(() => window.__errors);
  assert.ok(errors.length > 0 && errors.every((c) => c === 'rate_limited'), `the rejoins refused: ${errors.join(' ')} (none: the test tested nothing)`);
  console.log(`# ${drops} drops in a row: ${errors.length} rejoin(s) refused with rate_limited, then back in the game`);
  await assertClean([host, dee]);
  await dee.context.close();
  await host.context.close();
});
