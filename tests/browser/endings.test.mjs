// Endings that must read right: when nobody scores, nobody sees "You won!"
// (every player is ranked 1st with 0 points), and players who share the
// first place are told they tied. One-question games (Q1 "Which is a
// colour?": Red is right), accuracy scoring, so equal answers score alike.
// Screenshots go to tests/browser/artifacts/endings/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, STEP, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'endings');

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
  await host.page.check('#tag-list input[value="single"]');
  await host.page.check('input[name="scoring"][value="accuracy"]');
  await host.page.check('input[name="timer"][value="fixed"]');
  await host.page.fill('#opt-time', '60');
  await host.page.fill('#opt-lead', '0');
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

/** Plays the one question: each player picks the option with that text; ends on the podium. */
async function play(host, picks) {
  await host.page.waitForFunction((n) => document.querySelectorAll('#lobby-players .player-chip').length === n, picks.length);
  await host.page.click('#start-btn');
  await viewIs(host.page, 'question');
  for (const [p, option] of picks) {
    await p.page.waitForFunction(() => document.body?.dataset.view === 'question' && !document.querySelector('#q-answer .opt')?.disabled, null, { timeout: STEP });
    await p.page.click(`.opt:has-text("${option}")`);
    await p.page.waitForFunction(() => ['answered', 'result'].includes(document.body?.dataset.view));
  }
  await viewIs(host.page, 'reveal');
  await host.page.click('#ctl-next');
  await viewIs(host.page, 'leaderboard');
  await host.page.click('#ctl-next'); // "Final results"
  await viewIs(host.page, 'ended');
  for (const [p] of picks) await p.page.waitForFunction(() => document.body?.dataset.view === 'ended' && document.getElementById('end-title').textContent !== '');
}

test('nobody scores: no winner on any screen', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const ann = await actor(env.browser, 'ann', { width: 390, height: 844 });
  const ben = await actor(env.browser, 'ben', { width: 390, height: 844 });
  const pin = await createGame(host);
  await joinAs(ann, pin, 'Ann');
  await joinAs(ben, pin, 'Ben');
  await play(host, [
    [ann, 'Four'],
    [ben, 'Four'],
  ]);
  for (const p of [ann, ben]) {
    const sm = await p.page.evaluate(() => window.chainquiz.state.summary);
    assert.deepEqual([sm.rank, sm.score], [1, 0], `${p.name}: every 0 shares the first rank`);
    const title = await text(p.page, '#end-title');
    assert.doesNotMatch(title, /won/i, `${p.name}: no "won" with 0 points`);
    assert.equal(title, 'Nobody scored this time', p.name);
    assert.equal(await p.page.locator('#end-medal').isHidden(), true, `${p.name}: no medal`);
    await shot(p, 'all-zero');
  }
  assert.equal(await text(host.page, '#he-title'), 'Nobody scored in this game');
  assert.equal(await host.page.locator('#podium').isHidden(), true, 'no podium for nobody');
  assert.doesNotMatch(await text(host.page, '#live-main'), /winner/i);
  await shot(host, 'all-zero');
  await assertClean([host, ann, ben]);
  for (const a of [host, ann, ben]) await a.context.close();
});

test('a tie for first: "tied", not "won"; the next one is 3rd', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const cy = await actor(env.browser, 'cy', { width: 390, height: 844 });
  const dee = await actor(env.browser, 'dee', { width: 390, height: 844 });
  const eve = await actor(env.browser, 'eve', { width: 390, height: 844 });
  const pin = await createGame(host);
  await joinAs(cy, pin, 'Cy');
  await joinAs(dee, pin, 'Dee');
  await joinAs(eve, pin, 'Eve');
  await play(host, [
    [cy, 'Red'],
    [dee, 'Red'],
    [eve, 'Four'],
  ]);
  for (const p of [cy, dee]) {
    assert.equal(await p.page.evaluate(() => window.chainquiz.state.summary.rank), 1);
    assert.equal(await text(p.page, '#end-title'), 'You tied for first', p.name);
    assert.equal(await p.page.locator('#end-medal').isVisible(), true, `${p.name}: a medal`);
    await shot(p, 'tied-first');
  }
  assert.equal(await text(eve.page, '#end-title'), 'You finished 3rd');
  await shot(eve, 'third');
  assert.equal(await text(host.page, '#he-title'), 'Podium');
  // Both first places stand on the first step; the next one on the third.
  const steps = await host.page.locator('#podium .podium-col:not(.is-empty)').evaluateAll((cols) =>
    Object.fromEntries(cols.map((c) => [c.querySelector('.podium-name').textContent, c.className.match(/podium-(first|second|third)/)[1]])),
  );
  assert.deepEqual(steps, { Cy: 'first', Dee: 'first', Eve: 'third' });
  await host.page.waitForFunction(() => /^Game over\. Tied for first with 1,000 points: (Cy and Dee|Dee and Cy)$/.test(document.getElementById('live-main').textContent));
  await shot(host, 'tied-podium');
  await assertClean([host, cy, dee, eve]);
  for (const a of [host, cy, dee, eve]) await a.context.close();
});
