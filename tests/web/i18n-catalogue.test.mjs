// i18n-catalogue.test.mjs: the web client's message catalogue
// (web-client/js/i18n.js) is complete. Needs node only (no browser).
//
// - every language has exactly the keys of English, each with the same
//   {placeholders} and, for plural entries, an `other` form;
// - every server error code has an entry err.CODE. The codes are read from
//   the protocol's own sources, not from a copy: protocol/cq_error.h (the
//   one error table), the `code` enum of protocol/schema/server/error.schema.json
//   and the error table of protocol/PROTOCOL.md;
// - every key the pages use exists: data-i18n / data-i18n-attr in the HTML
//   and t('...') with a literal key in the scripts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB = path.join(REPO, 'web-client');
// As a data: URL, an ES module whatever node makes of a .js file outside a
// "type": "module" package (node 18, Debian 12's, reads it as CommonJS).
const { CATALOGUES, LANGS } = await import(
  `data:text/javascript;base64,${fs.readFileSync(path.join(WEB, 'js', 'i18n.js')).toString('base64')}`
);
const read = (...p) => fs.readFileSync(path.join(REPO, ...p), 'utf8');

function placeholders(entry) {
  const texts = typeof entry === 'string' ? [entry] : Object.values(entry);
  return [...new Set(texts.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
}

/** The wire codes of protocol/cq_error.h: XX(NAME, "code", "message"). */
function codesFromHeader() {
  const src = read('protocol', 'cq_error.h').replace(/\/\*[\s\S]*?\*\//g, ''); // not the comments' example
  const codes = [...src.matchAll(/XX\(\s*[A-Z0-9_]+\s*,\s*"([a-z0-9_]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length >= 40, `read ${codes.length} codes from cq_error.h: the pattern no longer matches the table`);
  return new Set(codes);
}

function codesFromSchema() {
  const schema = JSON.parse(read('protocol', 'schema', 'server', 'error.schema.json'));
  return new Set(schema.properties.code.enum);
}

/** The first column of PROTOCOL.md's "| code | message | meaning | ..." table. */
function codesFromSpec() {
  const lines = read('protocol', 'PROTOCOL.md').split('\n');
  const start = lines.findIndex((l) => /^\| code \| message \|/.test(l));
  assert.ok(start >= 0, "PROTOCOL.md's error table was not found");
  const codes = [];
  for (const l of lines.slice(start + 2)) {
    const m = /^\| `?([a-z0-9_]+)`? \|/.exec(l);
    if (!m) break;
    codes.push(m[1]);
  }
  assert.ok(codes.length >= 40, `read ${codes.length} codes from PROTOCOL.md`);
  return new Set(codes);
}

test('the languages are English, German, French and Spanish', () => {
  assert.deepEqual([...LANGS].sort(), ['de', 'en', 'es', 'fr']);
  assert.deepEqual(Object.keys(CATALOGUES).sort(), ['de', 'en', 'es', 'fr']);
});

test('every catalogue has exactly the keys of English, with the same placeholders', () => {
  const en = CATALOGUES.en;
  for (const l of LANGS) {
    const cat = CATALOGUES[l];
    const missing = Object.keys(en).filter((k) => !(k in cat));
    const extra = Object.keys(cat).filter((k) => !(k in en));
    assert.deepEqual(missing, [], `${l}: keys missing`);
    assert.deepEqual(extra, [], `${l}: keys English does not have`);
    for (const [k, v] of Object.entries(cat)) {
      assert.equal(typeof v, typeof en[k], `${l} ${k}: plain text in one language and plural forms in the other`);
      if (typeof v === 'object') assert.equal(typeof v.other, 'string', `${l} ${k}: a plural entry needs "other"`);
      else assert.ok(v.trim().length > 0, `${l} ${k}: empty`);
      assert.deepEqual(placeholders(v), placeholders(en[k]), `${l} ${k}: placeholders differ from English`);
    }
  }
});

test('every error code of the protocol has a catalogue entry', () => {
  const header = codesFromHeader();
  const all = new Set([...header, ...codesFromSchema(), ...codesFromSpec()]);
  const missing = [...all].filter((c) => !(`err.${c}` in CATALOGUES.en));
  assert.deepEqual(missing, [], 'error codes without an err.CODE entry');
  // ...and no entry for a code the protocol does not have (a renamed code
  // would otherwise leave a dead entry behind). The client's own codes:
  const clientCodes = new Set(['connection_lost', 'timeout', 'nickname_too_long']);
  const stale = Object.keys(CATALOGUES.en)
    .filter((k) => k.startsWith('err.'))
    .map((k) => k.slice(4))
    .filter((c) => !all.has(c) && !clientCodes.has(c));
  assert.deepEqual(stale, [], 'err. entries for codes the protocol does not have');
});

test('every key the pages use is in the catalogue', () => {
  const used = new Map(); // key -> file
  for (const f of fs.readdirSync(WEB).filter((f) => f.endsWith('.html'))) {
    const html = fs.readFileSync(path.join(WEB, f), 'utf8');
    for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) used.set(m[1], f);
    for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
      for (const pair of m[1].split(';')) used.set(pair.split(':')[1].trim(), f);
    }
  }
  const jsDir = path.join(WEB, 'js');
  for (const f of fs.readdirSync(jsDir).filter((f) => f.endsWith('.js') && f !== 'i18n.js')) {
    const js = fs.readFileSync(path.join(jsDir, f), 'utf8');
    for (const m of js.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) used.set(m[1], f);
    for (const m of js.matchAll(/dataset\.i18n = '([a-zA-Z0-9_.]+)'/g)) used.set(m[1], f);
    for (const m of js.matchAll(/\? '([a-z]+\.[a-zA-Z0-9_.]+)' : '([a-z]+\.[a-zA-Z0-9_.]+)'/g)) {
      used.set(m[1], f);
      used.set(m[2], f);
    }
  }
  assert.ok(used.size > 150, `found ${used.size} keys in use: the scan is broken`);
  const unknown = [...used].filter(([k]) => !(k in CATALOGUES.en)).map(([k, f]) => `${f}: ${k}`);
  assert.deepEqual(unknown, []);
});
