// Each page names every module its entry imports, directly or not, as a modulepreload: the
// browser then fetches the whole graph at once instead of one import level after another (on a
// cold cache the room page's five levels cost about 150 ms before the camera is even asked for).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSETS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets');

/** The modules `entry` imports at run time, transitively (JSDoc `@import`s are types only). */
function importGraph(entry) {
  const found = new Set();
  const visit = (file) => {
    const source = fs.readFileSync(path.join(ASSETS, 'js', file), 'utf8');
    for (const [, imported] of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'\.\/([\w-]+\.js)'/gms)) {
      if (found.has(imported)) continue;
      found.add(imported);
      visit(imported);
    }
  };
  visit(entry);
  found.delete(entry);
  return [...found].sort();
}

for (const page of fs.readdirSync(ASSETS).filter((file) => file.endsWith('.html'))) {
  test(`${page} preloads every module its entry imports, and nothing else`, () => {
    const html = fs.readFileSync(path.join(ASSETS, page), 'utf8');
    const entries = [...html.matchAll(/<script type="module" src="\/assets\/js\/([\w-]+\.js)">/g)].map((m) => m[1]);
    assert.equal(entries.length, 1, 'one entry module');
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/assets\/js\/([\w-]+\.js)">/g)].map((m) => m[1]);
    assert.deepEqual([...preloaded].sort(), importGraph(entries[0]));
  });
}
