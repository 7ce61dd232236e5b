// Languages: the pages in English, German, French and Spanish, chosen from
// the browser's language (Playwright's `locale`), switched with the
// language selector (and remembered), and a server error shown in the
// player's language. The expected texts come from the catalogue itself
// (web-client/js/i18n.js), and each is checked to differ from English, so
// a page that kept English fails. Screenshots go to
// tests/browser/artifacts/i18n/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, REPO, STEP, useServerAndBrowser, actor, shooter, viewIs, text, assertClean } from './harness.mjs';

// As a data: URL: node 18 (Debian 12's) reads a .js file outside a "type": "module"
// package as CommonJS.
const { CATALOGUES } = await import(
  `data:text/javascript;base64,${fs.readFileSync(path.join(REPO, 'web-client', 'js', 'i18n.js')).toString('base64')}`
);
const ARTIFACTS = path.join(HERE, 'artifacts', 'i18n');
const LOCALES = { en: 'en-US', de: 'de-DE', fr: 'fr-FR', es: 'es-ES' };

const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});
const shot = shooter(ARTIFACTS);

/** The catalogue's text, {params} filled (numbers as the page formats them). */
function T(lang, key, params = {}) {
  let e = CATALOGUES[lang][key];
  assert.ok(e !== undefined, `${lang}: no ${key}`);
  if (typeof e === 'object') e = e[new Intl.PluralRules(lang).select(params.n ?? 0)] ?? e.other;
  return e.replace(/\{(\w+)\}/g, (m, k) => (typeof params[k] === 'number' ? new Intl.NumberFormat(lang).format(params[k]) : String(params[k] ?? m)));
}

/** Asserts a page element shows the catalogue's text, and (but in English) not the English one. */
async function shows(page, sel, lang, key, params) {
  const want = T(lang, key, params);
  if (lang !== 'en') assert.notEqual(want, T('en', key, params), `${key}: a word that is the same in English proves nothing`);
  await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent.trim() === w, [sel, want], { timeout: STEP }).catch(() => {});
  assert.equal(await text(page, sel), want, `${lang}: ${sel} (${key})`);
}

async function createGame(host) {
  await host.page.goto(`${env.base}/?host`);
  await host.page.waitForSelector('.bank-card input[value="mini"]');
  await host.page.check('#tag-list input[value="single"]');
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

for (const lang of Object.keys(LOCALES)) {
  test(`${lang}: the start page, the host's and the player's screens follow the browser's language`, { timeout: 120_000 }, async () => {
    const host = await actor(env.browser, `host-${lang}`, { width: 1280, height: 800 }, { locale: LOCALES[lang] });
    const pl = await actor(env.browser, `player-${lang}`, { width: 390, height: 844 }, { locale: LOCALES[lang] });

    await host.page.goto(`${env.base}/?host`);
    assert.equal(await host.page.getAttribute('html', 'lang'), lang);
    assert.equal(await host.page.inputValue('#lang-select'), lang, 'the selector shows the language');
    await shows(host.page, '#tab-join', lang, 'land.tabJoin');
    await shows(host.page, '#host-btn', lang, 'land.create');
    await shows(host.page, 'label[for="opt-count"]', lang, 'land.count');
    assert.equal(await host.page.getAttribute('#join-nick', 'placeholder'), T(lang, 'land.nickPh'));
    await shot(host, 'start-page');

    const pin = await createGame(host);
    await shows(host.page, '#lock-btn', lang, 'host.lock');
    await shows(host.page, '#lobby-empty', lang, 'host.waitingPlayers');
    await shows(host.page, '.pin-label', lang, 'host.pinLabel');
    await joinAs(pl, pin, `P-${lang}`);
    await shows(pl.page, 'section[data-view="lobby"] .eyebrow', lang, 'play.youreIn');
    await shows(pl.page, '#leave-btn', lang, 'play.leave');
    await shows(pl.page, '#lobby-count', lang, 'play.first');
    await host.page.waitForFunction(() => document.getElementById('lobby-count').textContent === '1');
    assert.equal(await text(host.page, '#lobby-count-word'), T(lang, 'host.playersWord', { n: 1 }));
    await shot(host, 'lobby');
    await shot(pl, 'lobby');

    await host.page.click('#start-btn');
    await viewIs(host.page, 'question');
    await viewIs(pl.page, 'question');
    await shows(pl.page, '#q-count', lang, 'common.questionOf', { n: 1, total: 1 });
    await shows(pl.page, '#q-type', lang, 'ui.qt.single');
    await shows(host.page, '#hq-count', lang, 'common.questionOf', { n: 1, total: 1 });
    await shows(host.page, '#ctl-skip', lang, 'host.skip');
    await shows(host.page, '#ctl-next', lang, 'host.next.reveal');
    await shot(host, 'question');
    await shot(pl, 'question');
    await assertClean([host, pl]);
    await pl.context.close();
    await host.context.close();
  });
}

test('the language selector switches a page at once and is remembered', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host-switch', { width: 1280, height: 800 }, { locale: 'en-GB' });
  const pl = await actor(env.browser, 'player-switch', { width: 390, height: 844 }, { locale: 'de-DE' });

  await pl.page.goto(`${env.base}/`);
  await shows(pl.page, '#tab-join', 'de', 'land.tabJoin');
  await pl.page.selectOption('#lang-select', 'fr');
  await shows(pl.page, '#tab-join', 'fr', 'land.tabJoin');
  assert.equal(await pl.page.getAttribute('html', 'lang'), 'fr');
  assert.equal(await pl.page.evaluate(() => localStorage.getItem('chainquiz.lang')), 'fr');
  await pl.page.reload();
  await shows(pl.page, '#tab-join', 'fr', 'land.tabJoin'); // the choice beats the browser's German

  // In a game: the player's lobby and the host's lobby switch in place.
  const pin = await createGame(host);
  await joinAs(pl, pin, 'Zoé');
  await shows(pl.page, 'section[data-view="lobby"] .eyebrow', 'fr', 'play.youreIn');
  await pl.page.selectOption('#lang-select', 'es');
  await shows(pl.page, 'section[data-view="lobby"] .eyebrow', 'es', 'play.youreIn');
  await shows(pl.page, '#lobby-count', 'es', 'play.first');
  assert.equal(await pl.page.evaluate(() => document.body?.dataset.view), 'lobby', 'still in the lobby');
  await shot(pl, 'switched-to-es');

  await host.page.waitForFunction(() => document.getElementById('lobby-count').textContent === '1');
  await shows(host.page, '#lock-btn', 'en', 'host.lock');
  await host.page.selectOption('#lang-select', 'de');
  await shows(host.page, '#lock-btn', 'de', 'host.lock');
  await shows(host.page, '.pin-label', 'de', 'host.pinLabel');
  assert.equal(await text(host.page, '#lobby-count-word'), T('de', 'host.playersWord', { n: 1 }));
  await host.page.click('#lock-btn');
  await shows(host.page, '#lock-btn', 'de', 'host.unlock');
  await shot(host, 'switched-to-de');

  // During a question: both screens switch, the clock runs on, the player can answer.
  await host.page.click('#lock-btn'); // unlocked again
  await host.page.click('#start-btn');
  await viewIs(host.page, 'question');
  await viewIs(pl.page, 'question');
  await shows(pl.page, '#q-count', 'es', 'common.questionOf', { n: 1, total: 1 });
  await host.page.waitForFunction(() => Number(document.getElementById('hq-timer-num').textContent) <= 58);
  const before = Number(await text(host.page, '#hq-timer-num'));
  await host.page.selectOption('#lang-select', 'fr');
  await shows(host.page, '#hq-count', 'fr', 'common.questionOf', { n: 1, total: 1 });
  await shows(host.page, '#ctl-next', 'fr', 'host.next.reveal');
  assert.ok(Number(await text(host.page, '#hq-timer-num')) <= before, 'the clock was not restarted');
  await pl.page.selectOption('#lang-select', 'de');
  await shows(pl.page, '#q-count', 'de', 'common.questionOf', { n: 1, total: 1 });
  await shows(pl.page, '#q-type', 'de', 'ui.qt.single');
  await pl.page.click('.opt:has-text("Red")');
  await pl.page.waitForFunction(() => ['answered', 'result'].includes(document.body?.dataset.view));
  await viewIs(host.page, 'reveal');
  await shot(host, 'reveal-fr');

  // The leaderboard page of the same browser: German, as chosen last; switchable too.
  const lb = await pl.context.newPage();
  await lb.goto(`${env.base}/leaderboard.html?board=group:nobody-here`);
  await shows(lb, '.lb-heading', 'de', 'common.leaderboard');
  await lb.waitForFunction((w) => document.getElementById('lb-status').textContent === w, T('de', 'lb.emptyGroup'));
  await lb.selectOption('#lang-select', 'en');
  await shows(lb, '.lb-heading', 'en', 'common.leaderboard');
  await lb.waitForFunction((w) => document.getElementById('lb-status').textContent === w, T('en', 'lb.emptyGroup'));
  await lb.close();
  await assertClean([host, pl]);
  await pl.context.close();
  await host.context.close();
});

test('server errors in the player\'s language; the nickname limit from welcome.limits', { timeout: 120_000 }, async () => {
  const host = await actor(env.browser, 'host-err', { width: 1280, height: 800 });
  const es = await actor(env.browser, 'player-es', { width: 390, height: 844 }, { locale: 'es-ES' });
  const de = await actor(env.browser, 'player-de', { width: 390, height: 844 }, { locale: 'de-DE' });
  const pin = await createGame(host);

  // no_game: a PIN no game has.
  const wrong = pin === '000000' ? '000001' : '000000';
  await es.page.goto(`${env.base}/?pin=${wrong}`);
  await es.page.fill('#join-nick', 'Ana');
  await es.page.click('#join-btn');
  await es.page.waitForFunction(() => document.getElementById('join-error').textContent !== '');
  await shows(es.page, '#join-error', 'es', 'err.no_game');
  await shot(es, 'no-game');

  // nickname_invalid for length: 41 characters is over any server's limit
  // (at most 40) and under the decoder's (80); the field's maxlength is
  // taken away as a pasting browser might ignore it.
  await de.page.goto(`${env.base}/?pin=${pin}`);
  await de.page.evaluate(() => document.getElementById('join-nick').removeAttribute('maxlength'));
  await de.page.fill('#join-nick', 'A'.repeat(41));
  await de.page.click('#join-btn');
  await de.page.waitForFunction(() => document.getElementById('join-error').textContent !== '');
  const max = await de.page.evaluate(() => window.chainquiz.client.welcome.limits.nickname_max);
  assert.ok(max >= 2 && max <= 40);
  await shows(de.page, '#join-error', 'de', 'err.nickname_too_long', { max });
  assert.match(await text(de.page, '#join-error'), new RegExp(`\\b${max}\\b`), 'the message says the limit');
  assert.equal(await de.page.getAttribute('#join-nick', 'maxlength'), String(max), "the field's maxlength is the server's limit");
  await shot(de, 'nickname-too-long');
  await assertClean([host, es, de]);
  for (const a of [host, es, de]) await a.context.close();
});
