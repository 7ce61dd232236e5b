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
  const server = await startServer(args);
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
