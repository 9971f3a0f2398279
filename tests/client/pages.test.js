// The grid's paging arithmetic (assets/js/pages.js, tiles.js), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_TILE_HEIGHT, MIN_TILE_WIDTH, pageHolding, pageSizeFrom, paginate, tilesThatFit } from '../../assets/js/pages.js';
import { bestGrid } from '../../assets/js/tiles.js';

test('pages lead with the tiles that matter, then the rest in order', () => {
  const tiles = ['a', 'b', 'c', 'd', 'e'];
  assert.deepEqual(paginate(tiles, ['d'], 2), [['d', 'a'], ['b', 'c'], ['e']]);
  // A leader that is not a tile (gone meanwhile) is ignored; nothing is shown twice.
  assert.deepEqual(paginate(tiles, ['x', 'e', 'e'], 3), [['e', 'a', 'b'], ['c', 'd']]);
  assert.deepEqual(paginate([], ['a'], 4), [[]], 'always at least one page');
  assert.deepEqual(paginate(['a', 'b'], [], 0), [['a'], ['b']], 'a page holds at least one tile');
});

test('a page holds as many tiles as fit at the minimum size', () => {
  // A 1280x720 window's grid: 5 x 3 tiles of at least 240x135 with 8 px gaps.
  assert.equal(tilesThatFit(1248, 482, 8), 15);
  assert.equal(tilesThatFit(MIN_TILE_WIDTH, MIN_TILE_HEIGHT, 8), 1);
  assert.equal(tilesThatFit(MIN_TILE_WIDTH * 2 + 8, MIN_TILE_HEIGHT * 2 + 8, 8), 4);
  assert.equal(tilesThatFit(MIN_TILE_WIDTH * 2 + 7, MIN_TILE_HEIGHT, 8), 1, 'one pixel short of a second column');
  // Narrower than one tile (the strip beside the whiteboard): full-width tiles stacked.
  assert.equal(tilesThatFit(120, 300, 0), 4);
  assert.equal(tilesThatFit(0, 0, 8), 1, 'never less than one');
});

test('the tiles of a page fill the grid no smaller than the minimum', () => {
  const width = 1248;
  const height = 482;
  const fit = tilesThatFit(width, height, 8);
  const grid = bestGrid(fit, width, height, 8);
  assert.ok(grid.tileWidth >= MIN_TILE_WIDTH, `${fit} tiles laid out at ${grid.tileWidth} px`);
  assert.ok(bestGrid(fit + 1, width, height, 8).tileWidth < MIN_TILE_WIDTH, 'one more would be smaller than the minimum');
});

test('?page_size forces a count; anything else leaves it to the grid', () => {
  assert.equal(pageSizeFrom('4'), 4);
  assert.equal(pageSizeFrom(null), null);
  assert.equal(pageSizeFrom('0'), null);
  assert.equal(pageSizeFrom('-3'), null);
  assert.equal(pageSizeFrom('many'), null);
});

test('after a re-cut the page holding the viewed tile is shown, else the nearest that exists', () => {
  const pages = [['a', 'b'], ['c', 'd'], ['e']];
  assert.equal(pageHolding(pages, 'd', 0), 1);
  assert.equal(pageHolding(pages, 'gone', 1), 1);
  assert.equal(pageHolding(pages, undefined, 7), 2);
});
