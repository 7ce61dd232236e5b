// End-to-end test of the boards that outlive games and of the results
// download, through the real pages against the real server.
//
//   node --test tests/browser/          (from the repo root; see README.md)
//
// A host plays two short games for the group "class-a" (accuracy scoring,
// so every right answer is worth exactly 1000 and the totals are known),
// downloads the second game's results from the podium, and then the
// leaderboard page (leaderboard.html) is checked on a projector-sized and a
// 320 px screen: ranks, names, accumulated scores, a shared rank, "find me",
// all-time and this week, the bank's board, an empty board, a 503, and a
// nickname that is an HTML injection attempt. Screenshots go to
// tests/browser/artifacts/leaderboard/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, STEP, XSS, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'leaderboard');
const GROUP = 'class-a';
const POINTS = 1000; // a right answer, accuracy preset
const CSV_HEADER =
  'row,game_id,player_id,nickname,rank,score,correct_count,question,question_id,question_text,skipped,answered,correct,points,bonus,time_ms,answer,answer_text';

// --max-nickname 32: the injection nickname has 28 characters (default limit 20).
const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  extraArgs: ['--max-nickname', '32'],
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});
const shot = shooter(ARTIFACTS);

// ---- helpers -------------------------------------------------------------------

/** The host creates a two-question game (single, true/false) from the start page. */
async function createGame(host, group) {
  await host.page.goto(`${env.base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  await host.page.check('#tag-list input[value="single"]');
  await host.page.check('#tag-list input[value="truefalse"]');
  await host.page.check('input[name="scoring"][value="accuracy"]');
  await host.page.check('input[name="timer"][value="fixed"]');
  await host.page.fill('#opt-time', '60');
  await host.page.fill('#opt-lead', '0');
  await host.page.fill('#opt-group', group);
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  return (await text(host.page, '#pin-big')).replace(/\s+/g, '');
}

async function joinAs(a, pin, nickname) {
  await a.page.goto(`${env.base}/?pin=${pin}`);
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
    { timeout: STEP },
  );
}

async function hostNext(host, expectView) {
  await host.page.click('#ctl-next');
  await viewIs(host.page, expectView);
}

/**
 * Plays one game: `answers` maps each player to the option texts they pick
 * for Q1 ("Which is a colour?": Red is right) and Q2 (true/false: True is
 * right). Ends on the podium.
 */
async function playGame(host, players, answers) {
  await host.page.waitForFunction((n) => document.querySelectorAll('#lobby-players .player-chip').length === n, players.length);
  await host.page.click('#start-btn');
  for (let k = 0; k < 2; k++) {
    if (k > 0) await host.page.click('#ctl-next'); // "Next question"
    await viewIs(host.page, 'question');
    for (const p of players) await questionOpen(p, k);
    for (const p of players) {
      await p.page.click(`.opt:has-text("${answers.get(p)[k]}")`);
      await p.page.waitForFunction(() => ['answered', 'result'].includes(document.body?.dataset.view));
    }
    await viewIs(host.page, 'reveal'); // the last answer closes the question
    await hostNext(host, 'leaderboard');
  }
  await hostNext(host, 'ended');
  for (const p of players) await viewIs(p.page, 'ended');
}

/** The rows of a leaderboard table: [{rank, name, score, tie, me}]. */
function rows(page, tbody = '#lb-rows') {
  return page.locator(`${tbody} tr`).evaluateAll((trs) =>
    trs.map((tr) => ({
      rank: Number(tr.querySelector('.rank-num').textContent),
      name: tr.querySelector('.lb-name-text').textContent,
      score: Number(tr.querySelector('.lb-score').textContent),
      tie: tr.classList.contains('is-tie'),
      me: tr.getAttribute('aria-current') === 'true',
    })),
  );
}

/**
 * Waits until the board shows `want` (the boards are written after the game,
 * asynchronously): checks, and presses Refresh between checks, for at most 20 s.
 */
async function boardShows(page, want, label) {
  const deadline = Date.now() + 20_000;
  let got = null;
  for (;;) {
    await page.waitForFunction(() => document.getElementById('lb-board').getAttribute('aria-busy') !== 'true' && document.getElementById('lb-board').dataset.loaded, null, { timeout: STEP });
    got = await rows(page);
    const pick = got.map(({ rank, name, score }) => ({ rank, name, score }));
    if (JSON.stringify(pick) === JSON.stringify(want)) return got;
    if (Date.now() > deadline) break;
    await page.waitForTimeout(400); // a bounded poll of an asynchronous write, not a wait for the page
    await page.click('#lb-refresh');
  }
  assert.deepEqual(got, want, `${label}: the board shows the expected rows`);
  return got;
}

// Ben 3000; Ann and the injection nickname 2000 each (a shared 2nd); Cy 1000 (4th).
const EXPECTED = [
  { rank: 1, name: 'Ben', score: 3 * POINTS },
  { rank: 2, name: 'Ann', score: 2 * POINTS },
  { rank: 2, name: XSS, score: 2 * POINTS },
  { rank: 4, name: 'Cy', score: 1 * POINTS },
];
// Equal scores: Redis orders members in reverse byte order ('ann' > '<img…').
let gamesPlayed = false;

// ---- two games, and the results download --------------------------------------------

test('two games for one group; the podium downloads the results', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host', { width: 1280, height: 800 });
  const ann = await actor(env.browser, 'ann', { width: 390, height: 700 });
  const ben = await actor(env.browser, 'ben', { width: 360, height: 640 });
  const xss = await actor(env.browser, 'xss', { width: 320, height: 640 });
  const cy = await actor(env.browser, 'cy', { width: 320, height: 640 });
  const everyone = [host, ann, ben, xss, cy];
  try {
    // -- game 1: Ann 2000, Ben 1000, the injection nickname 1000 --
    let pin = await createGame(host, GROUP);
    assert.equal(await text(host.page, '#bar-group'), GROUP);
    await joinAs(ann, pin, 'Ann');
    await joinAs(ben, pin, 'Ben');
    await joinAs(xss, pin, XSS);
    await playGame(
      host,
      [ann, ben, xss],
      new Map([
        [ann, ['Red', 'True']],
        [ben, ['Red', 'False']],
        [xss, ['Four', 'True']],
      ]),
    );
    const scores1 = (await host.page.locator('#he-list .board-score').allTextContents()).map(Number);
    assert.deepEqual(scores1, [2 * POINTS, POINTS, POINTS], 'accuracy scoring: 1000 a right answer');
    const gid1 = await host.page.evaluate(() => window.chainquiz.state.gameId);
    assert.match(gid1, new RegExp(`^${pin}-[0-9]+$`), 'the host knows the game id');
    await host.page.waitForFunction(() => /saved/.test(document.getElementById('results-status').textContent), null, { timeout: 30_000 });
    await shot(host, 'game1-podium');

    // The players' end screens link to the group's board, around them.
    assert.equal(await ann.page.getAttribute('#end-board', 'href'), `leaderboard.html?board=group:${GROUP}&period=all&me=Ann`);
    await shot(xss, 'game1-ended');

    // -- game 2: Ann 0, Ben 2000, the injection nickname 1000, Cy 1000 --
    await host.page.click('#again-btn'); // "Host another game"
    pin = await createGame(host, GROUP);
    for (const p of [ann, ben, xss]) {
      await p.page.click('#end-home'); // "Play another game" forgets the old seat
      await viewIs(p.page, 'landing');
    }
    await joinAs(ann, pin, 'Ann');
    await joinAs(ben, pin, 'Ben');
    await joinAs(xss, pin, XSS);
    await joinAs(cy, pin, 'Cy');

    // The first two checks for the stored result find nothing yet (as when
    // Redis is slow): the podium says so and keeps checking.
    let held = 0;
    const isResults = (u) => u.pathname === '/api/results';
    await host.page.route(isResults, async (route) => {
      if (held < 2) {
        held++;
        await route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"no stored result for this game (expired or never finished)"}' });
      } else {
        await route.continue();
      }
    });

    await playGame(
      host,
      [ann, ben, xss, cy],
      new Map([
        [ann, ['Four', 'False']],
        [ben, ['Red', 'True']],
        [xss, ['Red', 'False']],
        [cy, ['Red', 'False']],
      ]),
    );
    const gid2 = await host.page.evaluate(() => window.chainquiz.state.gameId);
    assert.notEqual(gid2, gid1);
    assert.deepEqual(await host.page.locator('#he-list .board-name').allTextContents(), ['Ben', XSS, 'Cy', 'Ann']);

    // -- the podium: downloads and the board link --
    assert.ok(await host.page.locator('#dl-csv').isVisible(), 'the host has a CSV download');
    assert.ok(await host.page.locator('#dl-json').isVisible());
    assert.equal(await host.page.getAttribute('#board-link', 'href'), `leaderboard.html?board=group:${GROUP}&period=all`);
    assert.equal(await text(host.page, '#board-link'), `Leaderboard of “${GROUP}”`);
    await host.page.waitForFunction(() => /saved/.test(document.getElementById('results-status').textContent), null, { timeout: 40_000 });
    assert.equal(held, 2, 'the podium kept checking after "not stored yet"');
    await shot(host, 'game2-podium');
    await host.page.locator('#results-box').scrollIntoViewIfNeeded();
    await shot(host, 'game2-podium-downloads');

    const [csvDl] = await Promise.all([host.page.waitForEvent('download'), host.page.click('#dl-csv')]);
    assert.equal(csvDl.suggestedFilename(), `chainquiz-${gid2}.csv`);
    const csv = fs.readFileSync(await csvDl.path(), 'utf8');
    fs.writeFileSync(path.join(ARTIFACTS, `results-${gid2}.csv`), csv);
    const lines = csv.split('\r\n').filter((l) => l !== '');
    assert.equal(lines[0], CSV_HEADER);
    assert.equal(lines.length, 4 + 4 * 2 + 1, 'a row per player, players × questions, the header');
    assert.ok(lines.slice(1, 5).every((l) => l.startsWith(`player,"${gid2}",`)), 'the players first');
    assert.ok(lines.slice(5).every((l) => l.startsWith(`answer,"${gid2}",`)), 'then the answers');
    assert.ok(lines.some((l) => l.includes(`"${XSS}"`)), 'the nickname is a quoted CSV field, as typed');
    const benRows = lines.filter((l) => l.startsWith('answer,') && l.includes('"Ben"'));
    assert.equal(benRows.length, 2);
    assert.ok(benRows.every((l) => l.includes(',false,true,true,1000,')), "Ben's two right answers");
    assert.ok(lines.some((l) => /^player,"[^"]+",\d+,"Ben",\d+,2000,2,/.test(l)), "Ben's summary: 2000 points, 2 right");
    await host.page.waitForFunction(() => /Downloaded/.test(document.getElementById('results-status').textContent));

    const [jsonDl] = await Promise.all([host.page.waitForEvent('download'), host.page.click('#dl-json')]);
    assert.equal(jsonDl.suggestedFilename(), `chainquiz-${gid2}.json`);
    const rec = JSON.parse(fs.readFileSync(await jsonDl.path(), 'utf8'));
    assert.equal(rec.game_id, gid2);
    assert.equal(rec.players.length, 4);
    assert.equal(rec.host_token, undefined, 'the download does not carry the host token');

    // The host token never went into a URL the projector could show.
    const token = await host.page.evaluate(() => window.chainquiz.state.session.token);
    assert.ok(!(await host.page.content()).includes(token), 'the token is not in the page');
    await host.page.unroute(isResults);

    // The host gets the podium back after a reload, downloads included.
    await host.page.reload();
    await viewIs(host.page, 'ended');
    await host.page.waitForFunction(() => /saved/.test(document.getElementById('results-status').textContent), null, { timeout: 30_000 });
    assert.ok(await host.page.locator('#dl-csv').isVisible(), 'downloads after a reload (game id from `joined`)');

    // The board link opens the group's leaderboard in a new tab.
    const [board] = await Promise.all([host.context.waitForEvent('page'), host.page.click('#board-link')]);
    await board.waitForLoadState();
    assert.equal(new URL(board.url()).searchParams.get('board'), `group:${GROUP}`);
    await boardShows(board, EXPECTED, 'the podium link');
    await shot(host, 'from-podium-link', board);
    await board.close();

    await assertClean(everyone);
    gamesPlayed = true;
  } catch (e) {
    for (const a of everyone) await a.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${a.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    for (const a of everyone) await a.context.close().catch(() => {});
  }
});

// ---- the leaderboard page ---------------------------------------------------------------

test('the leaderboard page: ranks, ties, find me, week, bank, errors', { timeout: 90_000 }, async (t) => {
  if (!gamesPlayed) {
    t.skip('needs the two games of the previous test');
    return;
  }
  const proj = await actor(env.browser, 'projector', { width: 1280, height: 800 });
  const phone = await actor(env.browser, 'phone', { width: 320, height: 640 });
  const everyone = [proj, phone];
  const page = proj.page;
  try {
    // -- from the start page, by keyboard-friendly form controls --
    await page.goto(`${env.base}/`);
    await page.locator('#leaderboard-link').scrollIntoViewIfNeeded();
    await shot(proj, 'landing-link');
    await page.click('#leaderboard-link');
    await page.waitForURL(/leaderboard\.html/);
    await page.waitForFunction(() => window.chainquiz);
    await page.evaluate(() => window.chainquiz.ready); // the bank list is in
    await page.check('#kind-group');
    await page.fill('#lb-group', GROUP);
    await page.press('#lb-group', 'Enter');
    const all = await boardShows(page, EXPECTED, 'group, all time');
    assert.deepEqual(all.map((r) => r.tie), [false, true, true, false], 'a tie shares a rank and says so');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('board'), `group:${GROUP}`);
    assert.equal(url.searchParams.get('period'), 'all');
    assert.ok(page.url().includes(`board=group:${GROUP}`), 'a readable, shareable URL');
    assert.equal(await text(page, '#lb-title'), `Group “${GROUP}”`);
    assert.match(await text(page, '#lb-meta'), /^All time · 4 players$/);
    assert.equal(await page.locator('#lb-rows tr').nth(2).locator('.lb-name-text').textContent(), XSS, 'the nickname is text');
    await shot(proj, 'group-all-time');

    // -- this week, with the keyboard: arrow keys move between the radios --
    await page.focus('#period-all');
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/period=week/);
    await boardShows(page, EXPECTED, 'group, this week');
    assert.match(await text(page, '#lb-meta'), /^This week \(\d{4}, week \d{2}\) · 4 players$/);
    await shot(proj, 'group-this-week');

    // -- find me: case does not matter; the neighbourhood, me marked --
    await page.fill('#me-nick', 'ann');
    await page.press('#me-nick', 'Enter');
    await page.waitForSelector('#me-table:not([hidden])');
    await page.waitForURL(/me=ann/);
    const near = await rows(page, '#me-rows');
    assert.deepEqual(
      near.map(({ rank, name, score, me }) => ({ rank, name, score, me })),
      EXPECTED.map((r) => ({ ...r, me: r.name === 'Ann' })),
    );
    // Numbers in sentences are formatted for the page's language (en: 2,000).
    assert.equal(await text(page, '#me-status'), `Ann: 2nd (tied) of 4 with ${(2 * POINTS).toLocaleString('en')} points.`);
    assert.equal(await page.locator('#lb-rows tr[aria-current="true"] .lb-name-text').textContent(), 'Ann', 'marked in the top 10 too');
    await page.locator('#me-table').scrollIntoViewIfNeeded();
    await shot(proj, 'find-me');

    // The injection nickname can be looked up too (URL-encoded, shown as text).
    await page.fill('#me-nick', XSS);
    await page.click('#me-find');
    await page.waitForFunction((x) => document.querySelector('#me-rows tr[aria-current="true"] .lb-name-text')?.textContent === x, XSS);
    assert.equal(new URL(page.url()).searchParams.get('me'), XSS);

    // Somebody who never played.
    await page.fill('#me-nick', 'Nobody');
    await page.click('#me-find');
    await page.waitForFunction(() => /has no score on this board this week/.test(document.getElementById('me-status').textContent));
    assert.ok(await page.locator('#me-table').isHidden());
    await page.click('#me-clear');
    await page.waitForFunction(() => !new URL(location.href).searchParams.has('me'));

    // -- the bank's board: the same two games --
    await page.check('#kind-bank');
    await page.waitForURL(/board=bank:mini/);
    await boardShows(page, EXPECTED, 'bank, this week');
    assert.match(await text(page, '#lb-title'), /^Test bank/);

    // -- an empty board --
    await page.check('#kind-group');
    await page.fill('#lb-group', 'nobody-here');
    await page.click('#lb-show');
    await page.waitForFunction(() => /No scores for this group this week yet/.test(document.getElementById('lb-status').textContent));
    assert.ok(await page.locator('#lb-table').isHidden());
    await shot(proj, 'empty-board');

    // -- storage away: 503, then "Try again" --
    await page.fill('#lb-group', GROUP);
    await page.click('#lb-show');
    await boardShows(page, EXPECTED, 'back to the group');
    const isBoard = (u) => u.pathname === '/api/leaderboard';
    await page.route(isBoard, (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"leaderboard storage is unavailable; try again"}' }),
    );
    await page.click('#lb-refresh');
    await page.waitForFunction(() => /storage is unavailable/.test(document.getElementById('lb-status').textContent));
    assert.ok(await page.locator('#lb-retry').isVisible());
    assert.equal(await page.locator('#lb-rows tr').count(), 4, 'the last good board stays up');
    await shot(proj, 'storage-unavailable');
    await page.unroute(isBoard);
    const stamp = await page.getAttribute('#lb-board', 'data-loaded');
    await page.click('#lb-retry');
    await page.waitForFunction((s) => document.getElementById('lb-board').dataset.loaded !== s, stamp);
    assert.ok(await page.locator('#lb-retry').isHidden());
    assert.equal(await text(page, '#lb-status'), '', 'the error is gone');
    await boardShows(page, EXPECTED, 'after the retry');

    // -- a bookmarked URL on a 320 px phone: the state comes back --
    await phone.page.goto(`${env.base}/leaderboard.html?board=group:${encodeURIComponent(GROUP)}&period=week&me=Ann`);
    await boardShows(phone.page, EXPECTED, 'phone, bookmarked');
    assert.equal(await phone.page.inputValue('#lb-group'), GROUP);
    assert.ok(await phone.page.isChecked('#period-week'));
    assert.equal(await phone.page.inputValue('#me-nick'), 'Ann');
    await phone.page.waitForSelector('#me-table:not([hidden])');
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 320 px (${overflow} px too wide)`);
    await shot(phone, 'phone-week');
    await phone.page.locator('#me-card').scrollIntoViewIfNeeded();
    await shot(phone, 'phone-find-me');

    // -- a bad board from a hand-edited URL (a control character): the server's 400 is shown --
    await phone.page.goto(`${env.base}/leaderboard.html?board=group:a%01b`);
    await phone.page.waitForFunction(() => document.getElementById('lb-status').dataset.kind === 'error');
    assert.match(await text(phone.page, '#lb-status'), /did not accept this board/);

    await assertClean(everyone);
  } catch (e) {
    for (const a of everyone) await a.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${a.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    for (const a of everyone) await a.context.close().catch(() => {});
  }
});
