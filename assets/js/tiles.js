// The grid of video tiles. Tiles carry the stable test hooks:
//   participant tile: [data-participant="<id>"][data-audio="on|off"][data-video="on|off"] > video
//   own tile:         the same plus [data-local] (data-participant once joined)
//   on a tile:        [data-hand="<place in line, from 1>"] while the hand is up,
//                     [data-quality="good|fair|poor"] on remote tiles (title: the figures),
//                     [data-pinned] on the pinned tile, [data-featured] on the one shown large (the
//                     pinned one, else the speaker's when following the speaker),
//                     [data-speaking] while its participant speaks (speakers.js),
//                     [data-reaction] while a reaction floats
//   remote screen:    [data-screen="<id>"] > video      own screen preview: [data-local-screen] > video
//   a remote tile on another page of the grid (pages.js) has the `hidden` attribute
//   the grid:         [data-grid][data-page-size="<remote tiles per page>"][data-count="<tiles shown>"]

/** @import { MediaState } from './protocol.js' */

import { pageHolding, paginate, tilesThatFit } from './pages.js';

/** A tile's size is chosen for this aspect ratio. */
const TILE_ASPECT = 16 / 9;

/**
 * The grid that makes `count` tiles of TILE_ASPECT largest in a `width` x `height` box with `gap`
 * between tiles: how many columns, and each tile's width.
 * @param {number} count
 * @param {number} width
 * @param {number} height
 * @param {number} gap
 */
export function bestGrid(count, width, height, gap = 0) {
  let best = { cols: 1, tileWidth: 0 };
  for (let cols = 1; cols <= Math.max(1, count); cols += 1) {
    const rows = Math.ceil(count / cols);
    const tileWidth = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * TILE_ASPECT);
    if (tileWidth > best.tileWidth) best = { cols, tileWidth: Math.floor(tileWidth) };
  }
  return best;
}

/** @param {string} name */
function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => [...word][0] ?? '').join('').toUpperCase() || '?';
}

/** Called when the browser refuses to play sound without a click; the UI offers a button. */
/** @type {() => void} */
let onAutoplayBlocked = () => {};

/** @param {() => void} handler */
export function whenAutoplayBlocked(handler) {
  onAutoplayBlocked = handler;
}

/**
 * Browsers let a page that captures camera or microphone play sound without a click. A page that
 * joins while its capture is still being granted holds sound until then (videos start muted),
 * rather than being refused and asking for a click it would not have needed.
 */
let soundHeld = false;

/** Remote videos start muted until `releaseSound`. */
export function holdSound() {
  soundHeld = true;
}

/** Capture is granted or refused: the held videos get their sound, or the UI asks for a click. */
export function releaseSound() {
  soundHeld = false;
  unmuteBlocked();
}

/**
 * Plays a video; if sound is not allowed yet, plays it muted and reports it.
 * @param {HTMLVideoElement} video
 */
export function play(video) {
  if (soundHeld && !video.muted) {
    video.muted = true;
    video.dataset.autoplayMuted = '';
  }
  video.play().catch((error) => {
    if (error instanceof DOMException && error.name === 'NotAllowedError' && !video.muted) {
      video.muted = true;
      video.dataset.autoplayMuted = '';
      onAutoplayBlocked();
      video.play().catch(() => {});
    }
  });
}

/** Unmutes the videos that had to start muted; call from a click. */
export function unmuteBlocked() {
  for (const video of document.querySelectorAll('video[data-autoplay-muted]')) {
    if (!(video instanceof HTMLVideoElement)) continue;
    video.muted = false;
    delete video.dataset.autoplayMuted;
    play(video);
  }
}

export class Tile {
  /**
   * @param {object} options
   * @param {boolean} options.local own camera: muted and mirrored
   * @param {'camera' | 'screen'} options.kind
   */
  constructor({ local, kind }) {
    this.element = document.createElement('div');
    this.element.className = `tile tile-${kind}`;
    this.video = document.createElement('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    // Our own voice never plays back; a screen share carries no sound.
    this.video.muted = local || kind === 'screen';
    if (local && kind === 'camera') this.video.classList.add('mirror');
    this.avatar = document.createElement('div');
    this.avatar.className = 'avatar';
    this.avatar.setAttribute('aria-hidden', 'true');
    this.label = document.createElement('div');
    this.label.className = 'label';
    this.micIcon = document.createElement('span');
    this.micIcon.className = 'mic-off';
    this.micIcon.title = 'Microphone off';
    this.nameText = document.createElement('span');
    this.nameText.className = 'name';
    this.hand = document.createElement('span');
    this.hand.className = 'hand-badge';
    this.hand.hidden = true;
    this.quality = document.createElement('span');
    this.quality.className = 'quality';
    this.quality.hidden = true;
    this.label.append(this.micIcon, this.nameText, this.quality);
    this.pin = document.createElement('button');
    this.pin.type = 'button';
    this.pin.className = 'pin small';
    this.pin.dataset.pin = '';
    this.pin.textContent = 'Pin';
    this.pin.title = 'Show this tile large';
    this.element.append(this.video, this.avatar, this.label, this.hand, this.pin);
    // Double-click: the tile alone, full screen; again to come back.
    this.element.addEventListener('dblclick', () => {
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      else this.element.requestFullscreen?.().catch(() => {});
    });
  }

  /** @param {number} place 1-based place in the raised-hand queue, 0 when the hand is down */
  setHand(place) {
    this.hand.hidden = place === 0;
    this.hand.textContent = place ? `✋ ${place}` : '';
    if (place) this.element.dataset.hand = String(place);
    else delete this.element.dataset.hand;
  }

  /**
   * @param {'good' | 'fair' | 'poor'} grade
   * @param {string} figures shown on hover
   */
  setQuality(grade, figures) {
    this.quality.hidden = false;
    this.quality.dataset.grade = grade;
    this.quality.title = `Connection ${grade}: ${figures}`;
    this.quality.setAttribute('aria-label', this.quality.title);
    this.element.dataset.quality = grade;
  }

  /** @param {string} emoji floats up over the tile for a few seconds */
  showReaction(emoji) {
    const bubble = document.createElement('span');
    bubble.className = 'reaction';
    bubble.textContent = emoji;
    this.element.dataset.reaction = emoji;
    bubble.addEventListener('animationend', () => {
      bubble.remove();
      if (!this.element.querySelector('.reaction')) delete this.element.dataset.reaction;
    });
    this.element.append(bubble);
  }

  /**
   * @param {string} text the label
   * @param {string} [name] whose initials stand in for a camera that is off, if not the label's
   */
  setName(text, name = text) {
    this.nameText.textContent = text;
    this.avatar.textContent = initials(name);
    this.element.title = text;
  }

  /** @param {Pick<MediaState, 'audio' | 'video'>} media */
  setMedia({ audio, video }) {
    this.element.dataset.audio = audio ? 'on' : 'off';
    this.element.dataset.video = video ? 'on' : 'off';
  }

  /**
   * Shows `stream`; the same stream again only makes sure it plays (new tracks may have arrived).
   * @param {MediaStream} stream
   */
  attach(stream) {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    play(this.video);
  }

  /** @param {string} state */
  setPeerState(state) {
    this.element.dataset.peer = state;
  }

  remove() {
    this.video.srcObject = null;
    this.element.remove();
  }
}

export class TileGrid {
  /**
   * @param {HTMLElement} container
   * @param {object} [paging]
   * @param {number | null} [paging.pageSize] remote tiles per page; null: as many as fit (pages.js)
   * @param {(page: number, count: number) => void} [paging.paged] after every layout: the page
   *   shown (from 0) and how many there are
   */
  constructor(container, { pageSize = null, paged = () => {} } = {}) {
    this.container = container;
    this.fixedPageSize = pageSize;
    this.paged = paged;
    /** The page shown, from 0. */
    this.page = 0;
    this.pageCount = 1;
    /** Remote tiles per page, as last laid out. */
    this.pageSize = 1;
    /** @type {Tile | undefined} the first tile of the page shown, kept in view when pages are cut anew */
    this.anchor = undefined;
    /** The participant who speaks now, whose tile leads the first page; '' for nobody. */
    this.speaker = '';
    /** Show the speaker's tile large while nothing is pinned. */
    this.following = false;
    /** @type {Tile | null} the tile shown large: the pinned one, or the speaker's when following */
    this.featured = null;
    this.local = new Tile({ local: true, kind: 'camera' });
    this.local.element.dataset.local = '';
    /** @type {Map<string, Tile>} */
    this.remotes = new Map();
    /** @type {Map<string, Tile>} */
    this.screens = new Map();
    /** @type {Tile | null} */
    this.localScreen = null;
    /** @type {Tile | null} the tile shown large, the others in a strip */
    this.pinned = null;
    this.wirePin(this.local);
    container.append(this.local.element);
    new ResizeObserver(() => this.layout()).observe(container);
    this.layout();
  }

  /**
   * The tile of a remote participant, created on first use.
   * @param {string} id
   */
  remote(id) {
    let tile = this.remotes.get(id);
    if (!tile) {
      tile = new Tile({ local: false, kind: 'camera' });
      tile.element.dataset.participant = id;
      this.wirePin(tile);
      this.remotes.set(id, tile);
      this.container.insertBefore(tile.element, this.local.element);
      this.layout();
    }
    return tile;
  }

  /**
   * Pins `tile` (or unpins it if it is pinned): the spotlight.
   * @param {Tile | null} tile
   */
  spotlight(tile) {
    this.pinned?.element.removeAttribute('data-pinned');
    this.pinned = tile === this.pinned ? null : tile;
    this.pinned?.element.setAttribute('data-pinned', '');
    this.layout();
  }

  /**
   * @private
   * @param {Tile} tile
   */
  wirePin(tile) {
    tile.pin.addEventListener('click', () => this.spotlight(tile));
  }

  /** @param {Tile} tile a tile going away: no spotlight on nothing */
  forget(tile) {
    if (this.pinned === tile) this.spotlight(tile);
  }

  /** @param {string} id */
  removeRemote(id) {
    const tile = this.remotes.get(id);
    if (tile) this.forget(tile);
    tile?.remove();
    this.remotes.delete(id);
    this.removeScreen(id);
    this.layout();
  }

  removeAllRemotes() {
    for (const id of [...this.remotes.keys()]) this.removeRemote(id);
  }

  /**
   * Shows a remote participant's screen share in a tile of its own.
   * @param {string} id
   * @param {string} name
   * @param {MediaStream} stream
   */
  showScreen(id, name, stream) {
    let tile = this.screens.get(id);
    if (!tile) {
      tile = new Tile({ local: false, kind: 'screen' });
      tile.element.dataset.screen = id;
      this.wirePin(tile);
      this.screens.set(id, tile);
      this.container.prepend(tile.element);
      this.layout();
    }
    tile.setName(`${name} (screen)`, name);
    tile.setMedia({ audio: false, video: true });
    tile.attach(stream);
    return tile;
  }

  /** @param {string} id */
  removeScreen(id) {
    const tile = this.screens.get(id);
    if (!tile) return;
    this.forget(tile);
    tile.remove();
    this.screens.delete(id);
    this.layout();
  }

  /**
   * Our own screen share, so we see what the others see; `null` removes it.
   * @param {MediaStream | null} stream
   */
  setLocalScreen(stream) {
    if (!stream) {
      if (this.localScreen) this.forget(this.localScreen);
      this.localScreen?.remove();
      this.localScreen = null;
    } else {
      if (!this.localScreen) {
        this.localScreen = new Tile({ local: true, kind: 'screen' });
        this.localScreen.element.dataset.localScreen = '';
        this.localScreen.setName('Your screen');
        this.localScreen.setMedia({ audio: false, video: true });
        this.container.prepend(this.localScreen.element);
      }
      this.localScreen.attach(stream);
    }
    this.layout();
  }

  /**
   * Shows another page of tiles.
   * @param {number} step +1 next, -1 previous
   */
  turnPage(step) {
    this.page = Math.max(0, Math.min(this.pageCount - 1, this.page + step));
    this.anchor = undefined;
    this.layout();
  }

  /** @param {string} id the participant who speaks now ('' for nobody) */
  setSpeaker(id) {
    if (id === this.speaker) return;
    this.speaker = id;
    this.layout();
  }

  /**
   * Follows the speaker (shows whoever speaks large), or stops.
   * @param {boolean} on
   */
  follow(on) {
    this.following = on;
    this.layout();
  }

  /** @returns {HTMLVideoElement[]} videos that play remote sound */
  remoteVideos() {
    return [...this.remotes.values()].map((tile) => tile.video);
  }

  /**
   * Sizes the page's tiles so that all fit the grid at 16:9, as large as possible. (With a
   * tile pinned, the CSS shows it large and the others in a strip below it.)
   */
  layout() {
    this.feature();
    const style = getComputedStyle(this.container);
    const gap = parseFloat(style.columnGap) || 0;
    const width = this.container.clientWidth - (parseFloat(style.paddingLeft) || 0) - (parseFloat(style.paddingRight) || 0);
    const height = this.container.clientHeight - (parseFloat(style.paddingTop) || 0) - (parseFloat(style.paddingBottom) || 0);
    // Our own camera and screen preview are on every page: the remote tiles get the rest.
    const everyPage = this.localScreen ? 2 : 1;
    this.paginate(this.fixedPageSize ?? Math.max(1, tilesThatFit(width, height, gap) - everyPage));
    const count = [...this.container.children].filter((child) => child instanceof HTMLElement && !child.hidden).length;
    const { cols, tileWidth } = bestGrid(count, width, height, gap);
    this.container.style.setProperty('--cols', String(cols));
    this.container.style.setProperty('--tile-width', `${Math.max(tileWidth, 80)}px`);
    this.container.dataset.count = String(count);
    this.container.dataset.pageSize = String(this.pageSize);
    this.paged(this.page, this.pageCount);
  }

  /**
   * Marks the tile shown large: the pinned one, else the speaker's when following.
   * @private
   */
  feature() {
    this.featured = this.pinned ?? (this.following ? this.remotes.get(this.speaker) ?? null : null);
    for (const tile of this.container.children) {
      if (tile instanceof HTMLElement) tile.toggleAttribute('data-featured', tile === this.featured?.element);
    }
    this.container.classList.toggle('spotlight', this.featured !== null);
  }

  /**
   * Shows the remote tiles of the current page and hides the others; our own and the featured one
   * are on every page. Page 1 stays page 1 (the speaker and the pinned tile lead it); on a later
   * page, the page that holds the tile the user was looking at stays in view.
   * @private
   * @param {number} size remote tiles per page
   */
  paginate(size) {
    this.pageSize = size;
    const remotes = [...this.screens.values(), ...this.remotes.values()];
    const speaker = this.remotes.get(this.speaker);
    const first = [this.pinned, ...this.screens.values(), speaker].filter((tile) => tile !== undefined && tile !== null);
    const pages = paginate(remotes, first, size);
    this.pageCount = pages.length;
    this.page = this.page > 0 ? pageHolding(pages, this.anchor, this.page) : 0;
    this.anchor = pages[this.page][0];
    const shown = new Set(pages[this.page]);
    if (this.featured) shown.add(this.featured);
    for (const tile of remotes) tile.element.hidden = !shown.has(tile);
  }
}
