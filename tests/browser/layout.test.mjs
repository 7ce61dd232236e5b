// Layout and accessibility of every screen (issue #17, points 1, 3, 4, 9).
//
//   node --test tests/browser/layout.test.mjs        (from the repo root)
//
// A game of the `long` bank (tests/fixtures/content-layout: prompts of 300
// characters, six options of 120, long words) with 24 players: one phone
// (390x844, a 20-character nickname) and 23 WebSocket players run from one
// extra page. The host's screen and a spectator's projector view are each
// checked at 1920x1080 and at 1280x720, the phone at 390x844, in every
// phase: every visible element inside the viewport, the host's controls
// overlapping nothing, no horizontal overflow, no scrolling (projector, and
// the phone's game screens), text that was fitted not cut off, and axe-core
// with no serious or critical violation. Screenshots of every phase go to
// tests/browser/artifacts/layout/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { HERE, STEP, SHOT, useServerAndBrowser, actor as newActor, viewIs, text, assertClean, settle } from './harness.mjs';

const ARTIFACTS = path.join(HERE, 'artifacts', 'layout');
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const BIG = { width: 1920, height: 1080 };
const SMALL = { width: 1280, height: 720 };
const PHONE = { width: 390, height: 844 };
// The phone's game screens also at 320x568, 360x640 and landscape 844x390.
const PHONES = [PHONE, { width: 320, height: 568 }, { width: 360, height: 640 }, { width: 844, height: 390 }];
const NICK = 'Maximilianoverlength'; // 20 characters: the default limit
const BOTS = 23;

const env = useServerAndBrowser({
  artifacts: ARTIFACTS,
  extraArgs: ['--content', 'tests/fixtures/content-layout'],
  prepare: () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  },
});

// ---- checks -------------------------------------------------------------------

/**
 * Measures the page (in the page): elements outside the viewport, overlaps
 * with the host's control band, overflow, and fitted text that is cut off.
 */
function measure({ noScroll, clip }) {
  const W = window.innerWidth;
  const H = window.innerHeight;
  const de = document.documentElement;
  const problems = [];
  // A phone's question that does not fit at 14 px scrolls (js/fit.js, class fit-overflow):
  // then nothing may be cut off instead.
  const scrolls = !noScroll || !!document.querySelector('main [data-view]:not([hidden]).fit-overflow');
  noScroll = !scrolls;
  const name = (e) => {
    const t = (e.textContent || '').trim().slice(0, 30);
    return `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''}${t ? ` "${t}"` : ''}`;
  };
  if (de.scrollWidth > W) problems.push(`horizontal overflow: scrollWidth ${de.scrollWidth} > ${W}`);
  if (noScroll && de.scrollHeight > H) problems.push(`scrolling needed: scrollHeight ${de.scrollHeight} > ${H}`);
  const visible = (e) => {
    if (e.closest('.sr-only, .skip-link, [aria-hidden="true"]')) return false;
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.display === 'contents') return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const view = document.querySelector('main [data-view]:not([hidden])') || document.querySelector('main'); // leaderboard.html: no views
  const roots = [document.querySelector('header'), view, document.getElementById('controls')].filter((x) => x && !x.hidden);
  const els = roots.flatMap((r) => [r, ...r.querySelectorAll('*')]).filter(visible);
  for (const e of els) {
    const r = e.getBoundingClientRect();
    // Only what is on screen when nothing scrolls; scrolled pages: left and right.
    const out = r.left < -1 || r.right > W + 1 || (noScroll && (r.top < -1 || r.bottom > H + 1));
    if (out) problems.push(`outside the ${W}x${H} viewport: ${name(e)} [${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}x${Math.round(r.height)}]`);
  }
  // The phone's game screens, when they scroll: no text or control cut off by a box that
  // hides its overflow.
  if (clip && scrolls) {
    const own = (e) => ['INPUT', 'BUTTON', 'SELECT', 'IMG', 'A', 'TEXTAREA'].includes(e.tagName) || [...e.childNodes].some((n) => n.nodeType === 3 && n.data.trim());
    for (const e of els.filter(own)) {
      const r = e.getBoundingClientRect();
      for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
        const s = getComputedStyle(p);
        const clipY = /hidden|clip/.test(s.overflowY);
        const clipX = /hidden|clip/.test(s.overflowX);
        if (!clipX && !clipY) continue;
        const q = p.getBoundingClientRect();
        if (q.width <= 2 || q.height <= 2) break; // visually hidden on purpose
        if ((clipY && (r.top < q.top - 4 || r.bottom > q.bottom + 4)) || (clipX && (r.left < q.left - 1 || r.right > q.right + 1))) {
          problems.push(`cut off by ${name(p).slice(0, 50)}: ${name(e)}`);
          break;
        }
      }
    }
  }
  // Text the page fitted must not be cut off by its box.
  for (const e of document.querySelectorAll('[data-fit]')) {
    if (!visible(e)) continue;
    if (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
      problems.push(`text cut off: ${name(e)} (${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight})`);
  }
  // The host's controls have their own band: they overlap no content.
  const bar = document.getElementById('controls');
  if (bar && !bar.hidden && view) {
    const b = bar.getBoundingClientRect();
    for (const e of [view, ...view.querySelectorAll('*')].filter(visible)) {
      const r = e.getBoundingClientRect();
      if (r.left < b.right && r.right > b.left && r.top < b.bottom && r.bottom > b.top)
        problems.push(`covered by the host controls: ${name(e)}`);
    }
  }
  // Phone tiles never break inside a word.
  for (const e of document.querySelectorAll('.opt, .opt-text, .q-prompt, .hq-prompt, .host-opt, .bar-label')) {
    if (!visible(e)) continue;
    const s = getComputedStyle(e);
    if (s.wordBreak === 'break-all' || s.overflowWrap === 'anywhere' || s.hyphens === 'auto')
      problems.push(`may break inside a word: ${name(e)} (word-break ${s.wordBreak}, overflow-wrap ${s.overflowWrap}, hyphens ${s.hyphens})`);
  }
  // An h1 on every view.
  if (view && ![...view.querySelectorAll('h1')].some(visible)) problems.push(`no visible h1 in the view "${view.dataset.view || 'main'}"`);
  // prefers-reduced-motion (every actor asks for it): nothing animates.
  if (matchMedia('(prefers-reduced-motion: reduce)').matches) {
    const secs = (v) => Math.max(...v.split(',').map((x) => parseFloat(x) * (x.trim().endsWith('ms') ? 0.001 : 1)));
    for (const e of els) {
      const s = getComputedStyle(e);
      if (secs(s.animationDuration) > 0.01 || secs(s.transitionDuration) > 0.01 || parseFloat(s.animationDelay) > 0)
        problems.push(`moves despite prefers-reduced-motion: ${name(e)} (animation ${s.animationDuration}, transition ${s.transitionDuration})`);
    }
  }
  // The smallest text of what matters, for the report (px).
  const fonts = {};
  for (const [k, sel] of Object.entries({ pin: '#pin-big', prompt: '.hq-prompt, .q-prompt', option: '.host-opt .opt-text, .opt .opt-text, .order-item .opt-text, .bar-label .opt-text', row: '.board-row', explanation: '#hr-explanation' })) {
    const list = [...document.querySelectorAll(sel)].filter(visible).map((e) => parseFloat(getComputedStyle(e).fontSize));
    if (list.length) fonts[k] = Math.round(Math.min(...list) * 10) / 10;
  }
  return { problems, fonts };
}

async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const res = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'], rules: { 'label-content-name-mismatch': { enabled: true } } }),
  );
  return res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ') + (n.failureSummary ? ` [${n.failureSummary.replace(/\s+/g, ' ').slice(0, 160)}]` : '')).join('; ')}`);
}

const failures = [];
const seen = new Map(); // phase -> problems, for the report at the end
const sizesSeen = new Map(); // phase -> smallest font sizes
let checks = 0; // screenshots' numbers, taken when a check starts (checks run side by side)

/**
 * Checks one actor's screen in `phase`, at each of `sizes` (the first one is
 * the actor's own; the page is resized for the others and back), runs axe
 * once, and keeps a screenshot per size. The actors' pages are checked side
 * by side (all(): each in its own browser context, nothing else happens in
 * the game meanwhile).
 */
async function check(a, phase, { sizes, noScroll = true, runAxe = true }) {
  const own = a.page.viewportSize();
  let n = checks;
  checks += sizes.length;
  for (const size of sizes) {
    if (size.width !== a.page.viewportSize().width || size.height !== a.page.viewportSize().height) await a.page.setViewportSize(size);
    await settle(a.page);
    const label = `${phase}-${a.name}-${size.width}x${size.height}`;
    const numbered = `${String(++n).padStart(3, '0')}-${label}`;
    await a.page.screenshot({ path: path.join(ARTIFACTS, `${numbered}.jpg`), ...SHOT });
    // A landscape phone (844x390) may scroll its page, if nothing is cut off.
    const landscape = a.name === 'phone' && size.width > size.height;
    const clip = a.name === 'phone' && !/^(landing|leaderboard-page)/.test(phase); // the game's screens
    const { problems, fonts } = await a.page.evaluate(measure, { noScroll: noScroll && !landscape, clip });
    // Readable from the back of the room: the PIN and the question on the projector.
    if (a.name !== 'phone') {
      if (fonts.pin !== undefined && fonts.pin < 48) problems.push(`the PIN is ${fonts.pin}px`);
      if (fonts.prompt !== undefined && fonts.prompt < 16) problems.push(`the question is ${fonts.prompt}px`);
    }
    // On the phone, the question and its answers keep 14 px (the page scrolls beyond).
    if (a.name === 'phone') {
      for (const k of ['prompt', 'option']) if (fonts[k] !== undefined && fonts[k] < 13.95) problems.push(`the ${k} is ${fonts[k]}px on the phone`);
    }
    sizesSeen.set(numbered, fonts);
    if (runAxe && size === sizes[0]) problems.push(...(await axe(a.page)).map((p) => `axe: ${p}`));
    seen.set(numbered, problems);
    for (const p of problems) failures.push(`${label}: ${p}`);
  }
  if (own.width !== a.page.viewportSize().width || own.height !== a.page.viewportSize().height) {
    await a.page.setViewportSize(own);
    await settle(a.page);
  }
}

// ---- the WebSocket players --------------------------------------------------------

/** In the bots' page: 23 players that join and answer every question. */
function startBots({ pin, count }) {
  window.bots = [];
  const answerFor = (q) => {
    switch (q.qtype) {
      case 'multi':
        return [q.index % q.options.length];
      case 'truefalse':
        return true;
      case 'typeanswer':
        return 'no idea';
      case 'ordering':
        return q.options.map((_, i) => i);
      default:
        return Math.floor(Math.random() * q.options.length);
    }
  };
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(`ws://${location.host}/ws`, 'chainquiz.v1');
    const bot = { ws, joined: false, n: 0 };
    window.bots.push(bot);
    const send = (m) => ws.readyState === 1 && ws.send(JSON.stringify(m));
    const answer = (q) => send({ type: 'answer', id: `a${q.index}-${bot.n++}`, question: q.index, answer: answerFor(q) });
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'welcome') send({ type: 'join', id: 'j', pin, nickname: `Bot with a long n ${String(i + 1).padStart(2, "0")}` });
      else if (m.type === 'joined') bot.joined = true;
      else if (m.type === 'question') {
        bot.q = m;
        setTimeout(() => answer(m), m.lead_in_ms + 200 + i * 20);
      } else if (m.type === 'error' && m.code === 'not_open' && bot.q) setTimeout(() => answer(bot.q), 300);
    };
  }
}

// ---- the game -------------------------------------------------------------------

test('every screen fits the projector and the phone, and passes axe-core', { timeout: 600_000 }, async () => {
  // The lead-in in a game of its own (the longest lead-in, 30 s: the
  // checks must run while it shows), so that the main game's questions,
  // without one, do not each wait out a lead-in.
  const leadHost = await newActor(env.browser, 'host', BIG);
  const leadPhone = await newActor(env.browser, 'phone', PHONE);
  const leadBots = await newActor(env.browser, 'bots', { width: 400, height: 300 });
  const host = await newActor(env.browser, 'host', BIG);
  const spect = await newActor(env.browser, 'projector', SMALL);
  const phone = await newActor(env.browser, 'phone', PHONE);
  const bots = await newActor(env.browser, 'bots', { width: 400, height: 300 });
  const everyone = [leadHost, leadPhone, host, spect, phone];
  try {
    await leadIn({ host: leadHost, phone: leadPhone, bots: leadBots });
    for (const a of [leadHost, leadPhone, leadBots]) await a.context.close();
    await play({ host, spect, phone, bots });
    await assertClean(everyone);
  } catch (e) {
    for (const a of everyone) await a.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${a.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    for (const a of [...everyone, bots, leadBots]) await a.context.close().catch(() => {});
    fs.writeFileSync(path.join(ARTIFACTS, 'report.txt'), [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v.length ? v.join('\n    ') : 'ok'}  ${JSON.stringify(sizesSeen.get(k) || {})}`).join('\n') + '\n');
  }
  assert.deepEqual(failures, [], `layout or accessibility problems:\n${failures.join('\n')}`);
});

const PROJ = { sizes: [BIG, SMALL] };
const PROJ_SMALL_FIRST = { sizes: [SMALL, BIG] };
/** The host's screen and the projector view in `phase`, and the phone's
 * (as `phonePhase`, when given) with `phoneOpts`, side by side. */
const all = (host, spect, phase, phone, phonePhase, phoneOpts = { sizes: PHONES }) =>
  Promise.all([check(host, phase, PROJ), check(spect, phase, PROJ_SMALL_FIRST), phone ? check(phone, phonePhase, phoneOpts) : null]);

/** Creates a game of the long bank with lead-in `lead` (s); its PIN. */
async function createGame(host, lead, checkForm) {
  await host.page.goto(`${env.base}/?host`);
  await host.page.check('.bank-card input[value="long"]');
  if (checkForm) await check(host, 'start-page-host-form', { sizes: [BIG], noScroll: false });
  await host.page.fill('#opt-lead', String(lead));
  await host.page.click('#host-btn');
  await viewIs(host.page, 'lobby');
  return (await text(host.page, '#pin-big')).replace(/\s+/g, '');
}

/** The 23 WebSocket players join game `pin`; resolves once the host's lobby has all 24. */
async function botsJoin(host, bots, pin) {
  await bots.page.goto(`${env.base}/leaderboard.html`);
  await bots.page.evaluate(startBots, { pin, count: BOTS });
  await host.page.waitForFunction((n) => document.querySelectorAll('#lobby-players .player-chip').length === n, BOTS + 1, { timeout: 60_000 });
}

/** The first question's lead-in, on the host's screen and the phone, in a game of 24. */
async function leadIn({ host, phone, bots }) {
  const pin = await createGame(host, 30, false);
  await phone.page.goto(`${env.base}/?pin=${pin}`);
  await phone.page.fill('#join-nick', NICK);
  await phone.page.click('#join-btn');
  await viewIs(phone.page, 'lobby');
  await botsJoin(host, bots, pin);
  await host.page.click('#start-btn');
  await viewIs(host.page, 'question');
  await host.page.waitForFunction(() => document.getElementById('hq-count').textContent.startsWith('Question 1 of'));
  await host.page.waitForSelector('#hq-leadin:not([hidden])');
  await viewIs(phone.page, 'question');
  await phone.page.waitForSelector('#q-leadin:not([hidden])');
  await Promise.all([check(host, 'leadin', { sizes: [BIG] }), check(phone, 'leadin', { sizes: [PHONE] })]);
  // What was measured was the lead-in.
  assert.ok(await host.page.isVisible('#hq-leadin'), "the host's lead-in ended before it was checked");
  assert.ok(await phone.page.isVisible('#q-leadin'), "the phone's lead-in ended before it was checked");
}

async function play({ host, spect, phone, bots }) {
  const base = env.base;
  // -- the host creates a game of the long bank, without lead-in (leadIn() has it) --
  const pin = await createGame(host, 0, true);
  await host.page.waitForFunction(() => document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0);
  const watchHref = await host.page.getAttribute('#watch-link', 'href');
  await spect.page.goto(watchHref);
  await viewIs(spect.page, 'lobby');

  // -- the phone: the start page, a nickname too long, then 20 characters --
  await phone.page.goto(`${base}/?pin=${pin}`);
  await check(phone, 'landing', { sizes: PHONES, noScroll: false });
  // (the field allows 40 until the server's welcome says its limit: taken away here, as a
  // pasting browser might ignore it)
  await phone.page.evaluate(() => document.getElementById('join-nick').removeAttribute('maxlength'));
  await phone.page.fill('#join-nick', 'A nickname of 25 letters!');
  await phone.page.click('#join-btn');
  await phone.page.waitForFunction(() => document.getElementById('join-error').textContent.trim() !== '');
  const err = await text(phone.page, '#join-error');
  assert.match(err, /too long: at most 20 characters/, `the "too long" error names the limit: ${err}`);
  assert.equal(await phone.page.getAttribute('#join-nick', 'maxlength'), '20', 'the field takes its maxlength from welcome.limits');
  await check(phone, 'landing-nickname-error', { sizes: [PHONE], noScroll: false });
  await phone.page.fill('#join-nick', NICK);
  await phone.page.click('#join-btn');
  await viewIs(phone.page, 'lobby');
  assert.equal(await text(phone.page, '#me-name'), NICK);

  // -- 23 more players --
  await botsJoin(host, bots, pin);
  await spect.page.waitForFunction((n) => document.querySelectorAll('#lobby-players .player-chip').length === n, BOTS + 1, { timeout: 60_000 });
  await all(host, spect, 'lobby', phone, 'lobby');

  await host.page.click('#start-btn');
  const total = 7;
  for (let k = 0; k < total; k++) {
    await viewIs(host.page, 'question');
    await host.page.waitForFunction((k) => document.getElementById('hq-count').textContent.startsWith(`Question ${k + 1} of`), k);
    const qtype = await host.page.evaluate(() => document.getElementById('hq-options').dataset.qtype);
    const phase = `q${k + 1}-${qtype}`;
    await host.page.waitForSelector('#hq-leadin', { state: 'hidden' });
    await host.page.waitForFunction((n) => document.getElementById('hq-answered').textContent === String(n), BOTS, { timeout: 60_000 });
    await viewIs(phone.page, 'question');
    await phone.page.waitForSelector('#q-leadin', { state: 'hidden' });
    await all(host, spect, phase, phone, phase);
    if (k === 1) {
      await host.page.click('#ctl-pause');
      await host.page.waitForSelector('#hq-paused:not([hidden])');
      await spect.page.waitForSelector('#hq-paused:not([hidden])');
      await phone.page.waitForSelector('#q-paused:not([hidden])');
      await all(host, spect, 'paused', phone, 'paused', { sizes: [PHONE] });
      await host.page.click('#ctl-pause');
      await phone.page.waitForSelector('#q-paused', { state: 'hidden' });
      await phone.page.waitForFunction(() => !document.querySelector('#q-answer button:disabled:not(#submit-answer)'));
    }
    // The phone answers last, which closes the question.
    await phoneAnswers(phone, qtype, phase);
    await viewIs(host.page, 'reveal');
    await viewIs(spect.page, 'reveal');
    await viewIs(phone.page, 'result');
    await all(host, spect, `${phase}-reveal`, phone, `${phase}-result`);
    await host.page.click('#ctl-next');
    await viewIs(host.page, 'leaderboard');
    await viewIs(spect.page, 'leaderboard');
    await viewIs(phone.page, 'leaderboard');
    await host.page.waitForFunction(() => document.querySelectorAll('#hl-list .board-row').length === 10);
    if (k === 0 || k === total - 1) {
      await all(host, spect, `${phase}-leaderboard`, phone, `${phase}-leaderboard`);
    }
    await host.page.click('#ctl-next');
  }

  await viewIs(host.page, 'ended');
  await viewIs(spect.page, 'ended');
  await viewIs(phone.page, 'ended');
  await host.page.waitForSelector('#dl-csv:not([hidden])');
  await all(host, spect, 'podium', phone, 'ended', { sizes: PHONES, noScroll: false });

  // The leaderboard page, from the phone's end screen.
  await phone.page.click('#end-board');
  await phone.page.waitForURL(/leaderboard\.html/);
  await phone.page.waitForFunction(() => !document.getElementById('lb-table').hidden || ['empty', 'error'].includes(document.getElementById('lb-status').dataset.kind));
  await check(phone, 'leaderboard-page', { sizes: [PHONE, BIG], noScroll: false });
}

async function phoneAnswers(phone, qtype, phase) {
  const p = phone.page;
  switch (qtype) {
    case 'multi':
      await p.click('.opt[data-index="0"]');
      await p.click('.opt[data-index="3"]');
      await check(phone, `${phase}-picked`, { sizes: [PHONE] });
      await p.click('#submit-answer');
      break;
    case 'typeanswer':
      await p.fill('#type-answer', 'Configuration management');
      await p.click('#submit-answer');
      break;
    case 'ordering':
      await p.click('#submit-answer');
      break;
    default:
      await p.click('.opt[data-index="1"]');
  }
  await p.waitForFunction(() => ['answered', 'result'].includes(document.body?.dataset.view));
  await p.waitForFunction(() => document.body?.dataset.view === 'result', null, { timeout: STEP });
}
