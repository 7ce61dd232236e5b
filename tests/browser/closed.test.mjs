// A phone that missed the end of its game: offline when the host ended it,
// and back only after the game closed (--ended-ttl 1 s here). Its stored
// seat finds the game's PIN closed (PROTOCOL.md, Closed PINs): the page says
// the game is over, not that no game has this PIN, forgets the seat, and the
// server counts no wrong guess, so a class whose phones all come back so
// does not spend its address's guess budget.
// Screenshots go to tests/browser/artifacts/closed/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, STEP, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'closed');

const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  extraArgs: ['--ended-ttl', '1'],
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});
const shot = shooter(ARTIFACTS);

async function metric(name) {
  const body = await (await fetch(`${env.base}/metrics`)).text();
  const m = body.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  assert.ok(m, `no ${name} in /metrics`);
  return Number(m[1]);
}

/** Waits until the server's log has a line matching `re` (an event, not a time). */
async function logSays(re) {
  const deadline = Date.now() + STEP;
  while (!re.test(env.server.log())) {
    assert.ok(Date.now() < deadline, `the server never logged ${re}:\n${env.server.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('back after the game closed: "this game is over", the seat forgotten, no wrong guess', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const ann = await actor(env.browser, 'ann', { width: 390, height: 844 });
  await host.page.goto(`${env.base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
  await ann.page.goto(`${env.base}/?pin=${pin}`);
  await ann.page.fill('#join-nick', 'Ann');
  await ann.page.click('#join-btn');
  await viewIs(ann.page, 'lobby');
  await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 1);

  await ann.context.setOffline(true);
  await ann.page.waitForFunction(() => document.body.dataset.conn === 'reconnecting');
  await host.page.click('#start-btn');
  await viewIs(host.page, 'question');
  await host.page.click('#ctl-end');
  await host.page.click('#ctl-end'); // "Really end?"
  await viewIs(host.page, 'ended');
  await logSays(new RegExp(`game ${pin} closed`));
  const before = await metric('chainquiz_wrong_guesses_total');

  await ann.context.setOffline(false);
  await viewIs(ann.page, 'landing');
  assert.equal(await text(ann.page, '#join-error'), 'This game is over. Ask the host for the PIN of the next one.');
  assert.equal(await ann.page.inputValue('#join-pin'), pin);
  await shot(ann, 'game-over');
  assert.equal(await metric('chainquiz_wrong_guesses_total'), before, 'the closed PIN was counted as a wrong guess');
  // The seat is forgotten: a reload asks for nothing and stays on the start page.
  await ann.page.reload();
  await viewIs(ann.page, 'landing');
  assert.equal(await ann.page.evaluate(() => window.chainquiz.state.session), null);
  await assertClean([host, ann]);
  await ann.context.close();
  await host.context.close();
});
