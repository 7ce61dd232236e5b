// fitfuzz.mjs: random changes to a page of fitted boxes (fitfuzz.html), to
// check js/fit.js's choice of what to fit again. Not a test file (ctest does
// not run it):
//
//   node tests/browser/fitfuzz.mjs [FIT_JS] [SEED] [STEPS]
//
// FIT_JS (default web-client/js/fit.js; it needs window.__cqFitVerify) is
// served as the page's fit.js, with window.__cqFitCheck set. Each step makes
// 1-3 changes in one task (a text, the tiles, a band shown or hidden, the
// header above main, a view switch, the window's size), waits for the page
// to settle (as harness.mjs's settle()), and compares every shown box with a
// fit from scratch (window.__cqFitVerify()). Prints each step where they
// differ; exits 1 if any did or if a search from an answer found another
// step than the bisection.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HERE, REPO, launchBrowser, settleFrames } from './harness.mjs';

const [fitJs = path.join(REPO, 'web-client/js/fit.js'), seedArg = '1', stepsArg = '200'] = process.argv.slice(2);
const files = {
  '/': ['text/html', fs.readFileSync(path.join(HERE, 'fitfuzz.html'))],
  '/fit.js': ['text/javascript', fs.readFileSync(fitJs)],
};
const server = http.createServer((req, res) => {
  const f = files[req.url];
  res.writeHead(f ? 200 : 404, f ? { 'content-type': f[0] } : {});
  res.end(f ? f[1] : '');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

let seed = Number(seedArg);
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (a) => a[Math.floor(rnd() * a.length)];
const words = 'the quick brown fox jumps over lazy dogs configuration management incident problem change release deployment'.split(' ');
const textOf = (n) => Array.from({ length: n }, () => pick(words)).join(' ');

const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
await context.addInitScript(() => (window.__cqFitCheck = true));
const page = await context.newPage();
page.on('pageerror', (e) => console.log('page error:', String(e)));
await page.goto(`http://127.0.0.1:${server.address().port}/`);

/** As harness.mjs's settle(), without its assertions: a page still changing after 300 frames goes on. */
const settle = () => settleFrames(page, 300);

const sizes = [[1280, 720], [1920, 1080], [853, 480], [800, 600], [1024, 700], [1366, 768]];
// The changes, made in the page: those of a step in one task, so that one run of the routine
// meets them together (as a frame's worth of messages would be).
await page.evaluate(() => {
  const $ = (id) => document.getElementById(id);
  const make = (tag, className, textContent) => Object.assign(document.createElement(tag), { className, textContent });
  window.fuzz = {
    text: ([id, t]) => ($(id).textContent = t),
    toggle: (id) => ($(id).hidden = !$(id).hidden),
    tiles: (ts) => $('opts').replaceChildren(...ts.map((t) => make('div', 'tile', t))),
    tileText: ([t, r]) => {
      const ts = document.querySelectorAll('.tile');
      if (ts.length) ts[Math.floor(r * ts.length)].textContent = t;
    },
    view: () => document.querySelectorAll('[data-view]').forEach((v) => (v.hidden = !v.hidden)),
    players: (names) => $('list').replaceChildren(...names.map((t) => make('li', '', t))),
    player: (t) => $('list').insertBefore(make('li', '', t), $('list').querySelector(':scope > .fit-more')),
  };
});
const changes = {
  prompt: () => ['text', ['p', textOf(Math.floor(rnd() * 60) + 1)]],
  counter: () => ['text', ['side', pick(['0 of 3', '12 of 24 answered', '3', 'everyone answered at last!'])]],
  timer: () => ['text', ['timer', String(Math.floor(rnd() * 30))]],
  tiles: () => ['tiles', Array.from({ length: Math.floor(rnd() * 6) + 1 }, () => textOf(Math.floor(rnd() * 25) + 1))],
  tileText: () => ['tileText', [textOf(Math.floor(rnd() * 25) + 1), rnd()]],
  band: () => ['toggle', 'note'],
  explanation: () => ['text', ['expl', textOf(Math.floor(rnd() * 120) + 1)]],
  explanationShown: () => ['toggle', 'expl'],
  view: () => ['view', null],
  players: () => ['players', Array.from({ length: Math.floor(rnd() * 90) }, (_, i) => pick(words) + i)],
  player: () => ['player', pick(words) + 'x'],
  header: () => ['text', ['hdr', pick(['header', 'a much longer header that wraps '.repeat(8)])]],
  windowSize: () => ['windowSize', pick(sizes)],
};
const names = Object.keys(changes);

let bad = 0;
await settle();
for (let i = 0; i < Number(stepsArg); i++) {
  const step = [];
  for (let k = Math.floor(rnd() * 3) + 1; k > 0; k--) step.push(changes[pick(names)]());
  const [size] = step.filter(([name]) => name === 'windowSize').map(([, s]) => s);
  if (size) await page.setViewportSize({ width: size[0], height: size[1] });
  await page.evaluate((step) => {
    for (const [name, arg] of step) if (name !== 'windowSize') window.fuzz[name](arg);
  }, step);
  await settle();
  const wrong = await page.evaluate(() => window.__cqFitVerify());
  if (wrong.length) {
    bad++;
    console.log(`step ${i} (${step.map(([name, arg]) => (name === 'toggle' || name === 'text' ? `${name} ${[arg].flat()[0]}` : name)).join(', ')}): ${wrong.join('; ')}`);
  }
}
const stats = await page.evaluate(() => window.__cqFit);
console.log(`seed ${seedArg}: ${Number(stepsArg)} steps, ${bad} with a box unlike its fit from scratch; searches unlike the bisection: ${stats.mismatches?.length ?? '?'}`);
await browser.close();
server.close();
process.exit(bad || stats.mismatches?.length ? 1 : 0);
