// The join secret through the real pages: a host who asks for one gets a
// join link and QR code that carry it (`/?pin=NNNNNN&k=SECRET`); a phone
// that opens the link joins, one that has only the PIN is told there is no
// such game, and a spectator's watch link with the secret watches.
// Screenshots go to tests/browser/artifacts/join-secret/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'join-secret');

const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});
const shot = shooter(ARTIFACTS);

test('a game with a join secret: the link joins, the PIN alone does not', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const linked = await actor(env.browser, 'linked', { width: 390, height: 844 });
  const guesser = await actor(env.browser, 'guesser', { width: 390, height: 844 });
  const spect = await actor(env.browser, 'spect', { width: 1280, height: 800 });

  await host.page.goto(`${env.base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  await host.page.check('#opt-secret');
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
  assert.match(pin, /^[0-9]{6}$/);
  const href = await host.page.getAttribute('#join-link', 'href');
  const m = href.match(/\/\?pin=([0-9]{6})&k=([A-Za-z0-9_-]{22})$/);
  assert.ok(m, `the join link carries the secret: ${href}`);
  assert.equal(m[1], pin);
  const secret = m[2];
  assert.equal(await text(host.page, '#join-link'), href, 'the link shown is the link');
  assert.ok((await host.page.getAttribute('#qr', 'src')).endsWith(`?pin=${pin}&k=${secret}`), 'the QR code carries it');
  await host.page.waitForFunction(() => {
    const img = document.getElementById('qr');
    return img.complete && img.naturalWidth > 0;
  });
  await shot(host, 'lobby-with-secret');

  // The PIN alone: no such game, as for a wrong PIN.
  await guesser.page.goto(`${env.base}/?pin=${pin}`);
  await guesser.page.fill('#join-nick', 'Guesser');
  await guesser.page.click('#join-btn');
  await guesser.page.waitForFunction(() => /no live game/i.test(document.getElementById('join-error').textContent));
  await shot(guesser, 'pin-alone');

  // The link.
  await linked.page.goto(href);
  assert.equal(await linked.page.inputValue('#join-pin'), pin);
  await linked.page.fill('#join-nick', 'Linked');
  await linked.page.click('#join-btn');
  await viewIs(linked.page, 'lobby');
  await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 1);
  assert.deepEqual(await host.page.locator('#lobby-players .player-name').allTextContents(), ['Linked']);

  // The guesser gets the link: a refused join (nickname taken) closes its
  // socket, and the retry on the same page opens one again and gets in.
  await guesser.page.goto(href);
  await guesser.page.fill('#join-nick', 'Linked');
  await guesser.page.click('#join-btn');
  await guesser.page.waitForFunction(() => /nickname/i.test(document.getElementById('join-error').textContent));
  await guesser.page.waitForFunction(() => document.body.dataset.conn === 'stopped');
  await guesser.page.fill('#join-nick', 'Second');
  await guesser.page.click('#join-btn');
  await viewIs(guesser.page, 'lobby');

  // The projector: the host's watch link (the watch token is the proof) shows
  // the join link with the secret, for the class to scan.
  const watchHref = await host.page.getAttribute('#watch-link', 'href');
  assert.ok(!watchHref.includes(secret), 'the watch link does not need the join secret');
  await spect.page.goto(watchHref);
  await viewIs(spect.page, 'lobby');
  assert.ok((await spect.page.getAttribute('#join-link', 'href')).endsWith(`&k=${secret}`), "the spectator's screen shows the full link");

  await assertClean([host, linked, guesser, spect]);
  for (const a of [host, linked, guesser, spect]) await a.context.close();
});
