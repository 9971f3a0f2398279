// How big and whether visible each remote camera and screen share is on this page, reported to the
// SFU (`view`, one entry per tile with its `source`) so it forwards the simulcast layer that fits
// the tile and pauses what nobody sees. UI side: it watches tile elements with ResizeObserver and
// IntersectionObserver, and the page's visibility; a tile with the `hidden` attribute (on another
// page of the grid) is not visible.

/** @import { TileView, TileSource } from './protocol.js' */

/** @typedef {{ participant: string, source: TileSource, element: HTMLElement, video: HTMLVideoElement, onScreen: boolean }} WatchedTile */

/**
 * @param {string} participant
 * @param {TileSource} source
 */
const keyOf = (participant, source) => `${source}/${participant}`;

/** Reports wait this long for the layout to settle, so a burst of joins sends one message. */
const DEBOUNCE_MS = 250;

export class ViewReporter {
  /** @param {(tiles: TileView[]) => void} send */
  constructor(send) {
    this.send = send;
    /** @type {Map<string, WatchedTile>} by `keyOf` */
    this.tiles = new Map();
    /** What was sent last, to send only changes. */
    this.sent = '';
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.resizes = new ResizeObserver(() => this.schedule());
    this.intersections = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        for (const tile of this.tiles.values()) {
          if (tile.element === entry.target) tile.onScreen = entry.isIntersecting;
        }
      }
      this.schedule();
    });
    document.addEventListener('visibilitychange', () => this.schedule());
  }

  /**
   * Starts reporting `participant`'s camera or screen tile (again, if its element changed).
   * @param {string} participant
   * @param {HTMLElement} element the tile
   * @param {HTMLVideoElement} video its video, whose size is the one that matters
   * @param {TileSource} [source]
   */
  watch(participant, element, video, source = 'camera') {
    const key = keyOf(participant, source);
    const known = this.tiles.get(key);
    if (known?.element === element) return;
    if (known) this.unwatch(participant, source);
    this.tiles.set(key, { participant, source, element, video, onScreen: true });
    this.resizes.observe(video);
    this.intersections.observe(element);
    this.schedule();
  }

  /**
   * Stops reporting one tile of `participant`, or both when no source is given (it left).
   * @param {string} participant
   * @param {TileSource} [source]
   */
  unwatch(participant, source) {
    for (const each of source ? [source] : /** @type {TileSource[]} */ (['camera', 'screen'])) {
      const key = keyOf(participant, each);
      const tile = this.tiles.get(key);
      if (!tile) continue;
      this.resizes.unobserve(tile.video);
      this.intersections.unobserve(tile.element);
      this.tiles.delete(key);
      this.schedule();
    }
  }

  /** Forgets everything, e.g. before a re-join: the next report is sent whatever it says. */
  clear() {
    for (const { participant, source } of [...this.tiles.values()]) this.unwatch(participant, source);
    clearTimeout(this.timer);
    this.sent = '';
  }

  /** The tiles' visibility changed without a resize (grid pages): report soon. */
  changed() {
    this.schedule();
  }

  /** @returns {TileView[]} */
  current() {
    const pageVisible = document.visibilityState === 'visible';
    const scale = window.devicePixelRatio || 1;
    return [...this.tiles.values()].map((tile) => ({
      participant: tile.participant,
      source: tile.source,
      visible: pageVisible && tile.onScreen && tile.element.isConnected && !tile.element.hidden,
      width: Math.round(tile.video.clientWidth * scale),
      height: Math.round(tile.video.clientHeight * scale),
    }));
  }

  /** @private */
  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  /** @private */
  flush() {
    const tiles = this.current();
    const text = JSON.stringify(tiles);
    if (text === this.sent || tiles.length === 0) return;
    this.sent = text;
    this.send(tiles);
  }
}
