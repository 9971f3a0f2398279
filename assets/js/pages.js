// Pages of the tile grid for large rooms: a page holds as many remote tiles as fit the grid at
// MIN_TILE_WIDTH or larger (recomputed whenever the grid is resized), the others wait on further
// pages behind next/previous buttons. The tiles that matter most (the pinned one, screen shares,
// the active speaker) lead the first page. Tiles on other pages get the `hidden` attribute, so
// views.js reports them `visible: false` and the SFU stops sending them.
//
// Stable hooks: [data-action="page-prev"], [data-action="page-next"], and the indicator
// [data-page="<shown page, from 1>"][data-pages="<count>"]; the whole pager [data-pager] is hidden
// while everything fits on one page. `?page_size=<n>` in the room's URL forces n remote tiles per
// page whatever the grid's size (tests).

import { element, show } from './dom.js';

/**
 * The smallest tile (CSS pixels, 16:9) the grid shrinks tiles to before it starts another page.
 * At 240x135 a face is still recognisable and the label (mic, name, connection dot) still reads
 * without cutting a short name off; smaller, a gallery turns into a mosaic of thumbnails nobody
 * can follow, and a page to turn is the better deal. A 1280x720 window (a grid of about 1250x480)
 * then holds 15 tiles a page, 5 x 3; a phone held upright, one column of 3 or 4.
 */
export const MIN_TILE_WIDTH = 240;
export const MIN_TILE_HEIGHT = 135;

/**
 * Splits `tiles` into pages of `size`: those in `first` lead, in their order, then the rest in
 * theirs. There is always at least one (maybe empty) page.
 * @template T
 * @param {T[]} tiles
 * @param {T[]} first those of `tiles` that belong on the first page (more than fit spill over)
 * @param {number} size
 * @returns {T[][]}
 */
export function paginate(tiles, first, size) {
  const order = [...new Set([...first.filter((tile) => tiles.includes(tile)), ...tiles])];
  const step = Math.max(1, Math.floor(size));
  /** @type {T[][]} */
  const pages = [];
  for (let start = 0; start < order.length; start += step) pages.push(order.slice(start, start + step));
  return pages.length > 0 ? pages : [[]];
}

/**
 * How many tiles of at least MIN_TILE_WIDTH x MIN_TILE_HEIGHT fit a `width` x `height` grid with
 * `gap` between tiles, at least one. A grid narrower than that (the strip next to the whiteboard, a
 * small phone) stacks tiles as wide as itself, so it counts those.
 * @param {number} width
 * @param {number} height
 * @param {number} gap
 */
export function tilesThatFit(width, height, gap) {
  const tileWidth = Math.min(MIN_TILE_WIDTH, width);
  if (tileWidth <= 0) return 1;
  const tileHeight = (tileWidth * MIN_TILE_HEIGHT) / MIN_TILE_WIDTH;
  const cols = Math.floor((width + gap) / (tileWidth + gap));
  const rows = Math.floor((height + gap) / (tileHeight + gap));
  return Math.max(1, cols * rows);
}

/**
 * The page size forced by the `page_size` URL parameter, or null to fit the grid.
 * @param {string | null} text
 */
export function pageSizeFrom(text) {
  const size = Number.parseInt(text ?? '', 10);
  return Number.isFinite(size) && size > 0 ? size : null;
}

/**
 * The page to show after the pages were cut anew (another page size, tiles come or gone): the one
 * that holds `anchor`, the tile the user was looking at, else `page` as far as there are pages.
 * @template T
 * @param {T[][]} pages
 * @param {T | undefined} anchor
 * @param {number} page
 */
export function pageHolding(pages, anchor, page) {
  const holding = anchor === undefined ? -1 : pages.findIndex((tiles) => tiles.includes(anchor));
  return holding >= 0 ? holding : Math.min(page, pages.length - 1);
}

/** The next/previous buttons and the page indicator. */
export class Pager {
  /** @param {(step: number) => void} turn turns the grid's page by `step` */
  constructor(turn) {
    this.nav = element('[data-pager]', HTMLElement);
    this.previous = element('[data-action="page-prev"]', HTMLButtonElement);
    this.next = element('[data-action="page-next"]', HTMLButtonElement);
    this.indicator = element('[data-page]', HTMLElement);
    this.previous.addEventListener('click', () => turn(-1));
    this.next.addEventListener('click', () => turn(1));
  }

  /**
   * @param {number} page shown, from 0
   * @param {number} count
   */
  draw(page, count) {
    show(this.nav, count > 1);
    this.indicator.dataset.page = String(page + 1);
    this.indicator.dataset.pages = String(count);
    this.indicator.textContent = `${page + 1} / ${count}`;
    this.previous.disabled = page === 0;
    this.next.disabled = page >= count - 1;
  }
}
