// How big and whether visible each remote camera is on this page, reported to the SFU (`view`)
// so it forwards the simulcast layer that fits the tile and pauses what nobody sees. UI side: it
// watches tile elements with ResizeObserver and IntersectionObserver, and the page's visibility.

/** @import { TileView } from './protocol.js' */

/** Reports wait this long for the layout to settle, so a burst of joins sends one message. */
const DEBOUNCE_MS = 250;

export class ViewReporter {
  /** @param {(tiles: TileView[]) => void} send */
  constructor(send) {
    this.send = send;
    /** @type {Map<string, { element: HTMLElement, video: HTMLVideoElement, onScreen: boolean }>} */
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
   * Starts reporting `id`'s tile (again, if its element changed).
   * @param {string} id
   * @param {HTMLElement} element the tile
   * @param {HTMLVideoElement} video its video, whose size is the one that matters
   */
  watch(id, element, video) {
    const known = this.tiles.get(id);
    if (known?.element === element) return;
    if (known) this.unwatch(id);
    this.tiles.set(id, { element, video, onScreen: true });
    this.resizes.observe(video);
    this.intersections.observe(element);
    this.schedule();
  }

  /** @param {string} id */
  unwatch(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    this.resizes.unobserve(tile.video);
    this.intersections.unobserve(tile.element);
    this.tiles.delete(id);
    this.schedule();
  }

  /** Forgets everything, e.g. before a re-join: the next report is sent whatever it says. */
  clear() {
    for (const id of [...this.tiles.keys()]) this.unwatch(id);
    clearTimeout(this.timer);
    this.sent = '';
  }

  /** @returns {TileView[]} */
  current() {
    const pageVisible = document.visibilityState === 'visible';
    const scale = window.devicePixelRatio || 1;
    return [...this.tiles].map(([participant, tile]) => ({
      participant,
      visible: pageVisible && tile.onScreen && tile.element.isConnected,
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
