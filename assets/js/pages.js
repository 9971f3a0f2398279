// Pages of the tile grid for large rooms: at most `size` remote tiles are shown at once, the
// others wait on further pages behind next/previous buttons. The tiles that matter most (the
// pinned one, screen shares, the active speaker) lead the first page. Tiles on other pages get the
// `hidden` attribute, so views.js reports them `visible: false` and the SFU stops sending them.
//
// Stable hooks: [data-action="page-prev"], [data-action="page-next"], and the indicator
// [data-page="<shown page, from 1>"][data-pages="<count>"]; the whole pager [data-pager] is hidden
// while everything fits on one page. `?page_size=<n>` in the room's URL sets the page size (tests).

import { element, show } from './dom.js';

/** Remote tiles per page unless the URL says otherwise. */
export const DEFAULT_PAGE_SIZE = 9;

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

/** @param {string | null} text the `page_size` URL parameter */
export function pageSizeFrom(text) {
  const size = Number.parseInt(text ?? '', 10);
  return Number.isFinite(size) && size > 0 ? size : DEFAULT_PAGE_SIZE;
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
