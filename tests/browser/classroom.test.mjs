// Issue 17's server-backed screens through the real pages: the join link of
// a host page opened as 127.0.0.1 (the LAN address, --public-url, or a
// warning), the presenter panel (who has not answered: the host only), and
// the per-question report after the game.
// Screenshots go to tests/browser/artifacts/classroom/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HERE, startServer, launchBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'classroom');
const shot = shooter(ARTIFACTS);
let browser = null;

before(async () => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchBrowser();
});
after(async () => {
  if (browser) await browser.close();
});

/** A server with `args` for one test; its log is kept as NAME.log. */
async function withServer(name, args, fn) {
  // --bind 0.0.0.0 takes the port on every address: another test's socket on
  // one of them (the machine is shared) makes it exit at start; another port then.
  let server = null;
  for (let i = 0; !server; i++) {
    try {
      server = await startServer(args);
    } catch (e) {
      if (i === 2 || !/exited early/.test(e.message)) throw e;
    }
  }
  try {
    await fn(server.base);
  } finally {
    await server.stop();
    fs.writeFileSync(path.join(ARTIFACTS, `${name}.log`), server.log());
  }
}

async function hostGame(base, name, check = []) {
  const host = await actor(browser, name, { width: 1280, height: 800 });
  await host.page.goto(`${base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  for (const sel of check) await host.page.check(sel);
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
  assert.match(pin, /^[0-9]{6}$/);
  return { host, pin };
}

/** This machine's first IPv4 address that is up and not loopback, as the server lists them. */
function firstLan() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

test('join link: a server on loopback only warns on the host screen', { timeout: 120_000 }, async () => {
  await withServer('loopback', [], async (base) => {
    const { host, pin } = await hostGame(base, 'host-loopback');
    await host.page.waitForSelector('#join-warning:not([hidden])');
    assert.match(await text(host.page, '#join-warning'), /listens on this computer only/);
    assert.equal(await host.page.getAttribute('#join-warning', 'role'), 'alert');
    // Nothing better to offer: the page's own address stays.
    assert.equal(await host.page.getAttribute('#join-link', 'href'), `${base}/?pin=${pin}`);
    await shot(host, 'lobby-local-only');
    await assertClean([host]);
    await host.context.close();
  });
});

test('join link: a page opened as 127.0.0.1 links to the LAN address', { timeout: 120_000 }, async (t) => {
  const lan = firstLan();
  if (!lan) {
    t.skip('this machine has no LAN address');
    return;
  }
  await withServer('lan', ['--bind', '0.0.0.0'], async (base) => {
    const port = new URL(base).port;
    const { host, pin } = await hostGame(base, 'host-lan', ['#opt-secret']);
    const href = await host.page.getAttribute('#join-link', 'href');
    assert.match(href, new RegExp(`^http://${lan.replace(/\./g, '\\.')}:${port}/\\?pin=${pin}&k=[A-Za-z0-9_-]+$`));
    assert.equal(await text(host.page, '#join-link'), href, 'the link shown is the link');
    assert.equal(await text(host.page, '#join-host'), `${lan}:${port}`);
    assert.equal(await host.page.isHidden('#join-warning'), true, 'no warning when there is an address');
    // The QR code carries the same link (its SVG says which in <title>).
    const svg = await (await fetch(base + (await host.page.getAttribute('#qr', 'src')))).text();
    assert.equal(svg.match(/<title>(.*?)<\/title>/)[1].replace(/&amp;/g, '&'), href);
    // The projector (also opened as 127.0.0.1) shows the same link.
    const proj = await actor(browser, 'proj-lan', { width: 1280, height: 720 });
    await proj.page.goto(await host.page.getAttribute('#watch-link', 'href'));
    await viewIs(proj.page, 'lobby');
    await proj.page.waitForFunction((h) => document.getElementById('join-link').getAttribute('href') === h, href);
    await shot(host, 'lobby-lan-link');
    await assertClean([host, proj]);
    await host.context.close();
    await proj.context.close();
  });
});

test('join link: --public-url wins, without a warning', { timeout: 120_000 }, async () => {
  await withServer('public', ['--public-url', 'https://quiz.example.test/'], async (base) => {
    const { host, pin } = await hostGame(base, 'host-public');
    assert.equal(await host.page.getAttribute('#join-link', 'href'), `https://quiz.example.test/?pin=${pin}`);
    assert.equal(await text(host.page, '#join-host'), 'quiz.example.test');
    assert.equal(await host.page.isHidden('#join-warning'), true);
    await assertClean([host]);
    await host.context.close();
  });
});

async function joinAs(base, a, pin, nickname) {
  await a.page.goto(`${base}/?pin=${pin}`);
  await viewIs(a.page, 'landing');
  await a.page.fill('#join-nick', nickname);
  await a.page.click('#join-btn');
  await viewIs(a.page, 'lobby');
}

async function questionOpen(a, k) {
  await a.page.waitForFunction(
    (k) =>
      document.body?.dataset.view === 'question' &&
      document.getElementById('q-count').textContent.startsWith(`Question ${k + 1} of`) &&
      document.getElementById('q-leadin').hidden &&
      !document.querySelector('#q-answer .opt')?.disabled,
    k,
  );
}

async function pick(a, option) {
  await a.page.click(`.opt:has-text("${option}")`);
  await a.page.waitForFunction(() => ['answered', 'result'].includes(document.body?.dataset.view));
}

/** Box of `sel`, or null when it is not rendered. */
const box = (page, sel) => page.locator(sel).boundingBox();
const overlaps = (a, b) => a && b && a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('presenter panel and question report: the host sees who has not answered, and the report after the game', { timeout: 180_000 }, async () => {
  await withServer('presenter', [], async (base) => {
    const host = await actor(browser, 'host-presenter', { width: 1280, height: 800 });
    const ann = await actor(browser, 'ann', { width: 390, height: 844 });
    const bob = await actor(browser, 'bob', { width: 390, height: 844 });
    const proj = await actor(browser, 'proj', { width: 1280, height: 720 });
    await host.page.goto(`${base}/?host`);
    await host.page.waitForSelector('.bank-card input[value="mini"]');
    await host.page.check('#tag-list input[value="single"]');
    await host.page.check('#tag-list input[value="truefalse"]');
    await host.page.check('input[name="scoring"][value="accuracy"]');
    await host.page.check('input[name="timer"][value="fixed"]');
    await host.page.fill('#opt-time', '60');
    await host.page.fill('#opt-lead', '0');
    await host.page.click('#host-btn');
    await viewIs(host.page, 'lobby');
    const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
    await proj.page.goto(await host.page.getAttribute('#watch-link', 'href'));
    await viewIs(proj.page, 'lobby');
    await joinAs(base, ann, pin, 'Ann');
    await joinAs(base, bob, pin, 'Bob');
    await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 2);
    await host.page.click('#start-btn');

    // Q1 "Which is a colour?": Ann answers Red, Bob not yet.
    await viewIs(host.page, 'question');
    await host.page.waitForFunction(() => document.getElementById('presenter-summary').textContent === 'Not answered yet: 2');
    await questionOpen(ann, 0);
    await questionOpen(bob, 0);
    await pick(ann, 'Red');
    await host.page.waitForFunction(() => document.getElementById('presenter-summary').textContent === 'Not answered yet: 1');
    await host.page.click('#presenter-summary'); // open the panel
    await host.page.waitForFunction(() => document.getElementById('presenter').open);
    assert.deepEqual(await host.page.locator('#presenter-list li').allTextContents(), ['Bob']);
    // The panel is in its own band: it covers neither the prompt nor an option.
    const panel = await box(host.page, '#presenter');
    assert.ok(panel, 'the panel is shown');
    assert.ok(!overlaps(panel, await box(host.page, '#hq-prompt')), 'the panel does not cover the question');
    for (const opt of await host.page.locator('#hq-options > *').all()) {
      assert.ok(!overlaps(panel, await opt.boundingBox()), 'the panel does not cover an option');
    }
    await shot(host, 'presenter-open');
    // The projector never shows it.
    await viewIs(proj.page, 'question');
    assert.equal(await proj.page.isVisible('#presenter'), false, 'the projector has no presenter panel');
    assert.equal(await proj.page.locator('#presenter-list li').count(), 0, 'and no names in it');
    await shot(proj, 'projector-question');
    await pick(bob, 'Paris');
    await viewIs(host.page, 'reveal');
    await host.page.click('#ctl-next');
    await viewIs(host.page, 'leaderboard');
    await host.page.click('#ctl-next');
    // Q2 true/false: both answer True.
    await viewIs(host.page, 'question');
    await questionOpen(ann, 1);
    await questionOpen(bob, 1);
    await pick(ann, 'True');
    await pick(bob, 'True');
    await viewIs(host.page, 'reveal');
    await host.page.click('#ctl-next');
    await viewIs(host.page, 'leaderboard');
    await host.page.click('#ctl-next');
    await viewIs(host.page, 'ended');

    // The report below the podium, once the result is stored.
    await host.page.waitForSelector('#report:not([hidden])', { timeout: 40_000 });
    await host.page.click('#report summary');
    const rows = await host.page.locator('#report tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.equal(rows.length, 2);
    assert.equal(rows[0][0], '1. Which is a colour?');
    assert.equal(rows[0][1], '50%');
    assert.equal(rows[0][2], 'A Red: 1 · B Four: 0 · C Paris: 1 · D Cat: 0');
    assert.match(rows[0][3], /^\d+\.\d s$/);
    assert.equal(rows[1][1], '100%');
    assert.equal(rows[1][2], 'A True: 2 · B False: 0');
    await host.page.locator('#report').scrollIntoViewIfNeeded();
    await shot(host, 'report');
    await viewIs(proj.page, 'ended');
    assert.equal(await proj.page.isVisible('#report'), false, 'the projector shows no report');
    await assertClean([host, ann, bob, proj]);
    for (const a of [host, ann, bob, proj]) await a.context.close();
  });
});

/** Keeps the page's latest WebSocket; `closed()` waits for it to close. */
function trackSocket(page) {
  let last = null;
  page.on('websocket', (ws) => (last = ws));
  return {
    closed: async () => {
      assert.ok(last, 'the page opened a WebSocket');
      if (!last.isClosed()) await last.waitForEvent('close', { timeout: 20_000 });
    },
  };
}

test('endings: a kicked phone and a replaced tab get one close frame, no "Close received after close"', { timeout: 120_000 }, async () => {
  await withServer('endings', [], async (base) => {
    const { host, pin } = await hostGame(base, 'host-endings');
    const carol = await actor(browser, 'carol', { width: 390, height: 844 });
    const dan = await actor(browser, 'dan', { width: 390, height: 844 });
    const logs = [];
    for (const a of [carol, dan]) a.context.on('console', (m) => logs.push(`${a.name}: ${m.text()}`));
    const carolWs = trackSocket(carol.page);
    const danWs = trackSocket(dan.page);
    await joinAs(base, carol, pin, 'Carol');
    await joinAs(base, dan, pin, 'Dan');
    await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 2);
    // Kicked.
    await host.page.click('#lobby-players .player-chip:has-text("Carol") .kick-btn');
    await viewIs(carol.page, 'gone');
    await carolWs.closed();
    // The same seat in a second tab of the same browser: the first is replaced.
    const tab2 = await dan.context.newPage();
    tab2.on('console', (m) => logs.push(`dan tab 2: ${m.text()}`));
    await tab2.goto(`${base}/`);
    await tab2.waitForSelector('#resume:not([hidden])'); // the seat is offered, not taken
    await tab2.click('#resume-btn');
    await viewIs(tab2, 'lobby');
    await danWs.closed();
    assert.deepEqual(logs.filter((l) => /Close received after close/i.test(l)), [], 'no second close frame');
    await assertClean([carol]);
    for (const a of [host, carol, dan]) await a.context.close();
  });
});

test('a bank image: served by the server, shown on the projector and the phone, sized to fit', { timeout: 120_000 }, async () => {
  await withServer('media', ['--content', 'tests/fixtures/content-media'], async (base) => {
    const host = await actor(browser, 'host-media', { width: 1280, height: 720 });
    const proj = await actor(browser, 'proj-media', { width: 1920, height: 1080 });
    const ann = await actor(browser, 'ann-media', { width: 390, height: 844 });
    await host.page.goto(`${base}/?host`);
    await host.page.waitForSelector('.bank-card input[value="pics"]');
    await host.page.check('.bank-card input[value="pics"]');
    await host.page.fill('#opt-lead', '0');
    await host.page.click('#host-btn');
    await viewIs(host.page, 'lobby');
    const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
    await proj.page.goto(await host.page.getAttribute('#watch-link', 'href'));
    await viewIs(proj.page, 'lobby');
    await joinAs(base, ann, pin, 'Ann');
    await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 1);
    await host.page.click('#start-btn');
    for (const [a, sel] of [
      [host, '#hq-image img.q-image'],
      [proj, '#hq-image img.q-image'],
      [ann, '#q-image img.q-image'],
    ]) {
      await viewIs(a.page, 'question');
      await a.page.waitForFunction((s) => {
        const img = document.querySelector(s);
        return img && img.complete && img.naturalWidth === 64 && img.naturalHeight === 48;
      }, sel);
      assert.equal(new URL(await a.page.getAttribute(sel, 'src'), base).pathname, '/media/pics/red-square.png');
      const b = await a.page.locator(sel).boundingBox();
      const vp = a.page.viewportSize();
      assert.ok(b.width > 0 && b.x >= 0 && b.x + b.width <= vp.width, `${a.name}: the image fits the width`);
      assert.ok(b.height <= vp.height * 0.3 + 1, `${a.name}: the image leaves room for the question`);
      await shot(a, 'question-image');
    }
    await assertClean([host, proj, ann]);
    for (const a of [host, proj, ann]) await a.context.close();
  });
});
