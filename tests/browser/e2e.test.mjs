// End-to-end test of the browser client against the real server.
//
//   cd tests/browser && npm install --no-audit --no-fund   (once)
//   node --test tests/browser/                              (from the repo root)
//
// Starts build/chainquiz (or $CHAINQUIZ_BIN) on a free loopback port with the
// `mini` test bank, then a host, a spectator and three players, each in
// their own browser context of Debian's Chromium, play a whole game through
// the real pages. Screenshots of every phase go to tests/browser/artifacts/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, STEP, XSS, useServerAndBrowser, actor as newActor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts');

// --max-nickname 32: the injection nickname has 28 characters (default limit 20).
const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  extraArgs: ['--max-nickname', '32'],
  prepare: () => {
    // Only this file's own pictures: other test files keep theirs in subfolders
    // and may run at the same time.
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const f of fs.readdirSync(ARTIFACTS, { withFileTypes: true })) {
      if (f.isFile()) fs.rmSync(path.join(ARTIFACTS, f.name), { force: true });
    }
  },
});

// change_answer on: a player changes her answer until the server takes no
// more (20 changes, PROTOCOL.md Limits); the page then keeps the last answer
// taken as final and offers no more changes, and the reveal scores that one.
test('changed answers, up to the server\'s limit', { timeout: 120_000 }, async () => {
  const host = await actor('host3', { width: 1280, height: 720 });
  const fay = await actor('fay', { width: 375, height: 667 });
  const gus = await actor('gus', { width: 375, height: 667 });
  await withActors([host, fay, gus], async () => {
    await host.page.goto(`${env.base}/?host`);
    await host.page.waitForSelector('.bank-card input[value="mini"]');
    await host.page.check('#tag-list input[value="single"]');
    await host.page.check('#opt-change');
    await host.page.check('input[name="timer"][value="fixed"]');
    await host.page.fill('#opt-time', '120');
    await host.page.fill('#opt-lead', '0');
    await host.page.click('#host-btn');
    await viewIs(host.page, 'lobby');
    const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
    await joinAs(fay, pin, 'Fay');
    await joinAs(gus, pin, 'Gus'); // keeps the question open: he does not answer
    await host.page.click('#start-btn');
    await questionOpen(fay, 0);
    // The first answer, then 20 changes between "Red" (right) and "Four".
    const pick = async (i) => {
      await fay.page.click(`.opt[data-index="${i}"]`);
      if (await fay.page.locator('#submit-answer').isVisible()) await fay.page.click('#submit-answer');
      await viewIs(fay.page, 'answered');
    };
    await pick(1);
    for (let k = 1; k <= 20; k++) {
      await fay.page.click('#change-btn');
      await viewIs(fay.page, 'question');
      await pick(k % 2 ? 0 : 1); // the 20th change is "Four", wrong
    }
    // The 21st is refused: the last answer taken stays, no more changes.
    await fay.page.click('#change-btn');
    await viewIs(fay.page, 'question');
    await fay.page.click('.opt[data-index="0"]');
    if (await fay.page.locator('#submit-answer').isVisible()) await fay.page.click('#submit-answer');
    await viewIs(fay.page, 'answered');
    assert.ok(await fay.page.locator('#change-btn').isHidden(), 'a change offered past the limit');
    assert.match(await text(fay.page, '#answered-detail'), /Four/);
    await shot(fay, 'changes-spent');
    await host.page.click('#ctl-next'); // closes the question early
    const r = await result(fay);
    assert.equal(r.title, 'Incorrect', 'the refused change was scored');
    await assertClean([host, fay, gus]);
  });
});

// ---- helpers ----------------------------------------------------------------

const actor = (name, viewport) => newActor(env.browser, name, viewport);
const shot = shooter(ARTIFACTS);

/** Runs `fn` with `actors`; on failure leaves a picture of every screen for
 * whoever reads it; closes them all in any case. */
async function withActors(actors, fn) {
  try {
    await fn();
  } catch (e) {
    for (const a of actors) await a.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${a.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    for (const a of actors) await a.context.close().catch(() => {});
  }
}

async function joinAs(a, pin, nickname) {
  await a.page.goto(`${env.base}/?pin=${pin}`);
  assert.equal(await a.page.inputValue('#join-pin'), pin, '?pin= pre-fills the PIN');
  await a.page.fill('#join-nick', nickname);
  await a.page.click('#join-btn');
  await viewIs(a.page, 'lobby');
  assert.equal(await text(a.page, '#lobby-nick'), nickname);
}

/** Waits until the player sees question k (0-based) with answering open. */
async function questionOpen(a, k) {
  await a.page.waitForFunction(
    (k) =>
      document.body?.dataset.view === 'question' &&
      document.getElementById('q-count').textContent.startsWith(`Question ${k + 1} of`) &&
      document.getElementById('q-leadin').hidden,
    k,
    { timeout: STEP },
  );
}

/** "Answer received" (the last answer can close the question at once, so
 * the result may already have replaced it). */
async function answered(a) {
  await a.page.waitForFunction(() => ['answered', 'result'].includes(document.body?.dataset.view), null, { timeout: STEP });
  if ((await a.page.evaluate(() => document.body?.dataset.view)) === 'answered') {
    assert.equal(await text(a.page, '#answered-title'), 'Answer received');
  }
}

/** The player's result for the question just closed. */
async function result(a) {
  await viewIs(a.page, 'result');
  const title = await text(a.page, '#result-title');
  const points = Number(await a.page.getAttribute('#result-points', 'data-points'));
  const score = Number(await text(a.page, '#me-score'));
  return { title, points, score };
}

async function hostNext(host, expectView) {
  await host.page.click('#ctl-next');
  await viewIs(host.page, expectView);
}

// ---- the game -------------------------------------------------------------------

test('a whole game through the real pages', { timeout: 240_000 }, async () => {
  const host = await actor('host', { width: 1280, height: 800 });
  const alice = await actor('alice', { width: 390, height: 844 });
  const bob = await actor('bob', { width: 360, height: 740 });
  const carol = await actor('carol', { width: 320, height: 640 });
  const spect = await actor('spectator', { width: 1024, height: 700 });
  const everyone = [host, alice, bob, carol, spect];
  await withActors(everyone, async () => {
    await playGame({ host, alice, bob, carol, spect, everyone });
  });
});

async function playGame({ host, alice, bob, carol, spect, everyone }) {

  // -- the host creates a game from the start page --
  await host.page.goto(`${env.base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  await shot(host, 'landing-host-form');
  await host.page.check('input[name="timer"][value="fixed"]');
  await host.page.fill('#opt-time', '30');
  await host.page.fill('#opt-lead', '1');
  await host.page.fill('#opt-group', 'E2E <b>group</b>');
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
  assert.match(pin, /^[0-9]{6}$/);
  assert.equal(await text(host.page, '#bar-group'), 'E2E <b>group</b>', 'the group label is text');
  assert.ok((await host.page.getAttribute('#join-link', 'href')).endsWith(`/?pin=${pin}`));
  await host.page.waitForFunction(() => {
    const img = document.getElementById('qr');
    return img.complete && img.naturalWidth > 0;
  });

  // -- three players join; one nickname is an HTML injection attempt --
  await joinAs(alice, pin, 'Alice');
  await joinAs(bob, pin, XSS);
  await joinAs(carol, pin, 'Carol');
  // The PIN alone does not open the projector view; the host's projector link does.
  await spect.page.goto(`${env.base}/host.html?watch=${pin}`);
  await viewIs(spect.page, 'gone');
  const watchHref = await host.page.getAttribute('#watch-link', 'href');
  assert.ok(watchHref.includes(`/host.html?watch=${pin}#key=`), watchHref);
  // The start page's Watch tab takes the PIN and the code from that link.
  await spect.page.goto(`${env.base}/?watch`);
  await spect.page.fill('#watch-pin', pin);
  await spect.page.fill('#watch-key', watchHref);
  await spect.page.click('#watch-form button[type="submit"]');
  await viewIs(spect.page, 'lobby');
  assert.equal(new URL(spect.page.url()).hash, new URL(watchHref).hash);
  await host.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 3);
  const names = await host.page.locator('#lobby-players .player-name').allTextContents();
  assert.deepEqual(names, ['Alice', XSS, 'Carol']);
  assert.equal(await host.page.locator('#lobby-players img').count(), 0, 'no element was made from a nickname');
  await spect.page.waitForFunction(() => document.querySelectorAll('#lobby-players .player-chip').length === 3);
  assert.equal(await spect.page.locator('#start-btn').isVisible(), false, 'spectators cannot start');
  assert.equal(await spect.page.locator('.kick-btn').count(), 0, 'spectators cannot kick');
  // Players get no live roster: a phone's lobby names those who joined before it (Carol: Alice and Bob).
  await carol.page.waitForFunction((x) => [...document.querySelectorAll('#lobby-recent li')].some((li) => li.textContent === x), XSS);
  assert.deepEqual(await carol.page.locator('#lobby-recent li').allTextContents(), ['Alice', XSS]);
  assert.equal(await carol.page.locator('#lobby-recent img').count(), 0, 'no element was made from a nickname');
  assert.equal(await text(carol.page, '#lobby-count'), 'When you joined, 2 others were here.'); // as of joining: players get no lobby updates
  await shot(host, 'lobby');
  await shot(alice, 'lobby');

  // -- lock: nobody new gets in; unlock --
  await host.page.click('#lock-btn');
  await host.page.waitForSelector('#lock-note:not([hidden])');
  const late = await spect.context.newPage();
  await late.goto(`${env.base}/?pin=${pin}`);
  await late.fill('#join-nick', 'Dave');
  await late.click('#join-btn');
  await late.waitForFunction(() => /locked/i.test(document.getElementById('join-error').textContent));
  await late.close();
  await host.page.click('#lock-btn');
  await host.page.waitForSelector('#lock-note', { state: 'hidden' });

  // -- Q1 single: "Which is a colour?" Red | Four | Paris | Cat --
  await host.page.click('#start-btn');
  await viewIs(host.page, 'question');
  for (const p of [alice, bob, carol]) await questionOpen(p, 0);
  await shot(host, 'q1-question');
  await shot(alice, 'q1-question');
  await alice.page.keyboard.press('1'); // keyboard play: key 1 is option A, "Red"
  await answered(alice);
  await shot(alice, 'q1-answered');
  await bob.page.click('.opt:has-text("Four")');
  await carol.page.click('.opt:has-text("Red")');
  await viewIs(host.page, 'reveal');
  const counts = await host.page.locator('#hr-chart .bar-count').allTextContents();
  assert.deepEqual(counts.map(Number), [2, 1, 0, 0], 'the chart counts what was chosen');
  assert.equal(await host.page.locator('#hr-chart .bar-col.is-correct').count(), 1);
  assert.match(await text(host.page, '#hr-explanation'), /Red is a colour/);
  const a1 = await result(alice);
  const b1 = await result(bob);
  const c1 = await result(carol);
  assert.equal(a1.title, 'Correct!');
  assert.ok(a1.points > 0, 'a right answer scores');
  assert.equal(b1.title, 'Incorrect');
  assert.equal(b1.points, 0, 'a wrong answer scores 0');
  assert.ok(c1.points > 0);
  await shot(host, 'q1-reveal');
  await shot(alice, 'q1-result');
  await shot(bob, 'q1-result');
  await hostNext(host, 'leaderboard');
  await viewIs(alice.page, 'leaderboard');
  const board1 = await host.page.locator('#hl-list .board-name').allTextContents();
  assert.equal(board1.length, 3);
  assert.equal(board1[2], XSS, 'the wrong answer is last, shown as text');
  await shot(host, 'q1-leaderboard');
  await shot(alice, 'q1-leaderboard');

  // -- Q2 multi: "Which are prime?" 2 | 4 | 5 | 9, right: 2 and 5 --
  await hostNext(host, 'question');
  for (const p of [alice, bob, carol]) await questionOpen(p, 1);
  await alice.page.click('.opt:has-text("2")');
  await alice.page.click('.opt:has-text("5")');
  assert.equal(await alice.page.getAttribute('.opt[data-index="0"]', 'aria-pressed'), 'true');
  await shot(alice, 'q2-multi-picked');
  await alice.page.click('#submit-answer');
  await answered(alice);
  await bob.page.click('.opt:has-text("4")');
  await bob.page.click('#submit-answer');
  await answered(bob);
  await carol.page.keyboard.press('1'); // keys tick options, Enter submits
  await carol.page.keyboard.press('3');
  await carol.page.keyboard.press('Enter');
  await answered(carol);
  await viewIs(host.page, 'reveal');
  await shot(host, 'q2-reveal');
  const a2 = await result(alice);
  const b2 = await result(bob);
  const c2 = await result(carol);
  assert.equal(a2.title, 'Correct!');
  assert.ok(a2.points > a1.points, 'double points and a streak bonus');
  assert.equal(b2.points, 0);
  assert.ok(c2.points > 0);
  await hostNext(host, 'leaderboard');
  await hostNext(host, 'question');

  // -- Q3 true/false, with pause, added time, and a reload mid-question --
  for (const p of [alice, bob, carol]) await questionOpen(p, 2);
  await host.page.click('#ctl-pause');
  await alice.page.waitForSelector('#q-paused:not([hidden])');
  await host.page.waitForSelector('#hq-paused:not([hidden])');
  await shot(host, 'q3-paused');
  await shot(alice, 'q3-paused');
  await host.page.click('#ctl-pause'); // now "Resume"
  await alice.page.waitForSelector('#q-paused', { state: 'hidden' });
  const before = Number(await text(host.page, '#hq-timer-num'));
  await host.page.click('#ctl-add');
  await host.page.waitForFunction((b) => Number(document.getElementById('hq-timer-num').textContent) > b + 5, before);

  const scoreBefore = Number(await text(alice.page, '#me-score'));
  assert.equal(scoreBefore, a2.score);
  await alice.page.reload();
  await questionOpen(alice, 2);
  assert.equal(Number(await text(alice.page, '#me-score')), scoreBefore, 'the reload kept the score');
  await shot(alice, 'q3-after-reload');
  await alice.page.click('.opt:has-text("True")');
  await answered(alice);
  await bob.page.click('.opt:has-text("False")');
  await carol.page.click('.opt:has-text("True")');
  await viewIs(host.page, 'reveal');
  await shot(host, 'q3-reveal');
  const a3 = await result(alice);
  const b3 = await result(bob);
  assert.equal(a3.title, 'Correct!');
  assert.ok(a3.points > 0);
  assert.equal(a3.score, a2.score + a3.points, 'the score after the reload adds up');
  assert.equal(b3.points, 0);
  await shot(alice, 'q3-result');
  await hostNext(host, 'leaderboard');

  // -- the host removes Carol --
  await host.page.click('#players-btn');
  await host.page.waitForSelector('#players-panel:not([hidden])');
  await shot(host, 'players-panel');
  await host.page.click('#panel-list button[aria-label="Remove Carol"]');
  await viewIs(carol.page, 'gone');
  assert.equal(await text(carol.page, '#gone-title'), 'You were removed');
  await shot(carol, 'kicked');
  await host.page.waitForFunction(() => document.getElementById('players-btn-count').textContent === '2');
  await host.page.click('#panel-close');
  await carol.page.reload(); // the seat is gone for good: back to the start page
  await viewIs(carol.page, 'landing');

  // -- Q4 type-answer: "Capital of France?" --
  await hostNext(host, 'question');
  for (const p of [alice, bob]) await questionOpen(p, 3);
  // Bob's network drops: the page says so, keeps retrying, and gets back in.
  // (Chromium keeps an open socket when it goes offline; the page gives it
  // up itself on the `offline` event, and retries at once on `online`.)
  await bob.context.setOffline(true);
  await bob.page.waitForFunction(() => /Reconnecting/.test(document.getElementById('conn').textContent) && !document.getElementById('conn').hidden);
  assert.ok(await bob.page.locator('#submit-answer').isDisabled(), 'no answering while offline');
  await shot(bob, 'q4-reconnecting');
  await host.page.waitForFunction(() => document.querySelector('#players-panel .is-away') !== null);
  await bob.context.setOffline(false);
  await bob.page.waitForSelector('#conn', { state: 'hidden' });
  await questionOpen(bob, 3);
  assert.equal(Number(await text(bob.page, '#me-score')), 0);
  await alice.page.fill('#type-answer', 'paris');
  await shot(alice, 'q4-typeanswer');
  await alice.page.keyboard.press('Enter');
  await answered(alice);
  await bob.page.fill('#type-answer', 'London');
  await bob.page.click('#submit-answer');
  await viewIs(host.page, 'reveal');
  await shot(host, 'q4-reveal');
  const a4 = await result(alice);
  const b4 = await result(bob);
  assert.equal(a4.title, 'Correct!');
  assert.ok(a4.points > 0);
  assert.equal(b4.points, 0);
  assert.match(await text(bob.page, '#result-correct'), /Paris/);
  await hostNext(host, 'leaderboard');
  // The projector reloads: the host gets its game back with the stored token.
  await host.page.reload();
  await viewIs(host.page, 'leaderboard');
  assert.equal((await host.page.locator('#hl-list .board-name').allTextContents())[0], 'Alice');

  // -- Q5 ordering: one < two < three < four, shown shuffled --
  await hostNext(host, 'question');
  for (const p of [alice, bob]) await questionOpen(p, 4);
  await shot(host, 'q5-question');
  const target = ['one', 'two', 'three', 'four'];
  const order = () => alice.page.locator('#order-list .opt-text').allTextContents();
  let usedKeyboard = false;
  for (let pos = 0; pos < target.length; pos++) {
    let cur = await order();
    while (cur.indexOf(target[pos]) > pos) {
      const i = cur.indexOf(target[pos]);
      if (!usedKeyboard) {
        await alice.page.locator('#order-list .order-item').nth(i).focus();
        await alice.page.keyboard.press('Shift+ArrowUp');
        usedKeyboard = true;
      } else {
        await alice.page.click(`#order-list button[aria-label="Move “${target[pos]}” up"]`);
      }
      await alice.page.waitForFunction(
        ([t, i]) => [...document.querySelectorAll('#order-list .opt-text')].indexOf([...document.querySelectorAll('#order-list .opt-text')].find((e) => e.textContent === t)) === i - 1,
        [target[pos], i],
      );
      cur = await order();
    }
  }
  assert.deepEqual(await order(), target);
  await shot(alice, 'q5-ordering');
  await alice.page.click('#submit-answer');
  await answered(alice);
  await bob.page.click('#submit-answer'); // as shown: never already solved
  await viewIs(host.page, 'reveal');
  await shot(host, 'q5-reveal');
  const a5 = await result(alice);
  const b5 = await result(bob);
  assert.equal(a5.title, 'Correct!');
  assert.ok(a5.points > 0);
  assert.equal(b5.points, 0);
  await hostNext(host, 'leaderboard');

  // -- Q6 poll: no right answer, no points --
  await hostNext(host, 'question');
  for (const p of [alice, bob]) await questionOpen(p, 5);
  await alice.page.click('.opt:has-text("Summer")');
  await bob.page.click('.opt:has-text("Winter")');
  await viewIs(host.page, 'reveal');
  await shot(host, 'q6-poll-reveal');
  const a6 = await result(alice);
  assert.equal(a6.title, 'Thanks for voting!');
  assert.equal(a6.points, 0);
  await hostNext(host, 'leaderboard');
  assert.equal(await text(host.page, '#ctl-next'), 'Final results');
  await shot(host, 'q6-leaderboard');

  // -- the end: podium, final ranks, per-question summaries --
  await hostNext(host, 'ended');
  await viewIs(alice.page, 'ended');
  await viewIs(bob.page, 'ended');
  await viewIs(spect.page, 'ended');
  await shot(host, 'podium');
  await shot(spect, 'podium');
  await shot(alice, 'ended');
  await shot(bob, 'ended');

  const podium = await host.page.locator('#podium .podium-col:not(.is-empty) .podium-name').allTextContents();
  // Display order is 2nd, 1st, 3rd; Carol was removed, so there is no 3rd.
  assert.deepEqual(podium, [XSS, 'Alice']);
  const finalNames = await spect.page.locator('#he-list .board-name').allTextContents();
  assert.deepEqual(finalNames, ['Alice', XSS], 'the spectator sees the same final ranking');
  const finalScores = (await host.page.locator('#he-list .board-score').allTextContents()).map(Number);
  assert.equal(finalScores[0], a6.score, "the podium shows Alice's score");
  assert.equal(finalScores[1], 0, 'all wrong: 0 points');

  assert.equal(await text(alice.page, '#end-title'), 'You won!');
  assert.equal(await text(bob.page, '#end-title'), 'You finished 2nd');
  const aliceRows = await alice.page.locator('#end-summary tbody tr').evaluateAll((rows) =>
    rows.map((r) => ({ res: r.querySelector('.sum-res').textContent, pts: Number(r.lastElementChild.textContent) })),
  );
  assert.deepEqual(aliceRows.map((r) => r.res), ['✓ Right', '✓ Right', '✓ Right', '✓ Right', '✓ Right', 'Voted']);
  assert.ok(aliceRows.slice(0, 5).every((r) => r.pts > 0));
  assert.equal(aliceRows.reduce((n, r) => n + r.pts, 0), a6.score, 'the summary adds up to the score');
  const bobRows = await bob.page.locator('#end-summary tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.lastElementChild.textContent)));
  assert.ok(bobRows.every((p) => p === 0));
  assert.equal(await bob.page.locator('#end-summary .sum-prompt').first().textContent(), 'Which is a colour?');

  // -- nothing ran that should not have --
  await assertClean(everyone);
}

// ---- host controls: topics, skip, time running out, ending early ------------------

test('topics, skip, a timed-out question and ending early', { timeout: 120_000 }, async () => {
  const host = await actor('host2', { width: 1280, height: 720 });
  const dan = await actor('dan', { width: 375, height: 667 });
  const eve = await actor('eve', { width: 375, height: 667 });
  await withActors([host, dan, eve], async () => {
    await host.page.goto(`${env.base}/?host`);
    await host.page.waitForSelector('.bank-card input[value="mini"]');
    await host.page.check('#tag-list input[value="single"]');
    await host.page.check('#tag-list input[value="truefalse"]');
    await host.page.check('input[name="scoring"][value="accuracy"]');
    assert.ok(await host.page.locator('#opt-streak').isDisabled(), 'no streaks in the accuracy preset');
    await host.page.check('input[name="timer"][value="fixed"]');
    await host.page.fill('#opt-time', '3');
    await host.page.fill('#opt-lead', '0');
    await host.page.click('#host-btn');
    await viewIs(host.page, 'lobby');
    const pin = (await text(host.page, '#pin-big')).replace(/\s+/g, '');
    await joinAs(dan, pin, 'Dan');
    await host.page.click('#start-btn');
    await questionOpen(dan, 0);
    assert.equal(await text(dan.page, '#q-count'), 'Question 1 of 2', 'two questions carry those topics');

    // Skip: nothing is scored, the next question comes at once.
    await host.page.click('#ctl-skip');
    await questionOpen(dan, 1);
    assert.equal(await text(dan.page, '#q-prompt'), 'Water boils at 100 C at sea level.');

    // Dan does not answer: time runs out.
    const r = await result(dan);
    assert.equal(r.title, "Time's up");
    assert.equal(r.points, 0);
    await viewIs(host.page, 'reveal');
    await shot(dan, 'timed-out');

    // Eve joins during the reveal: no result for a question she never saw
    // (state.you has none), she waits on the lobby screen.
    await joinAs(eve, pin, 'Eve');
    assert.equal(await text(eve.page, '#lobby-nick'), 'Eve');

    // End, in two steps (no blocking dialog).
    await host.page.click('#ctl-end');
    assert.equal(await text(host.page, '#ctl-end'), 'Really end?');
    await host.page.click('#ctl-end');
    await viewIs(host.page, 'ended');
    await viewIs(dan.page, 'ended');
    const rows = await dan.page.locator('#end-summary .sum-res').allTextContents();
    assert.deepEqual(rows, ['Skipped', 'No answer']);
    assert.deepEqual(await host.page.locator('#he-list .board-name').allTextContents(), ['Dan', 'Eve']);
    await shot(dan, 'ended-early');
    await assertClean([host, dan, eve]);
  });
});
