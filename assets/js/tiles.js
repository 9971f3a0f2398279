// The grid of video tiles. Tiles carry the stable test hooks:
//   participant tile: [data-participant="<id>"][data-audio="on|off"][data-video="on|off"] > video
//   own tile:         the same plus [data-local] (data-participant once joined)
//   remote screen:    [data-screen="<id>"] > video      own screen preview: [data-local-screen] > video

/** @import { MediaState } from './protocol.js' */

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
 * Plays a video; if sound is not allowed yet, plays it muted and reports it.
 * @param {HTMLVideoElement} video
 */
export function play(video) {
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
    this.label.append(this.micIcon, this.nameText);
    this.element.append(this.video, this.avatar, this.label);
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
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.local = new Tile({ local: true, kind: 'camera' });
    this.local.element.dataset.local = '';
    /** @type {Map<string, Tile>} */
    this.remotes = new Map();
    /** @type {Map<string, Tile>} */
    this.screens = new Map();
    /** @type {Tile | null} */
    this.localScreen = null;
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
      this.remotes.set(id, tile);
      this.container.insertBefore(tile.element, this.local.element);
      this.layout();
    }
    return tile;
  }

  /** @param {string} id */
  removeRemote(id) {
    this.remotes.get(id)?.remove();
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
      this.screens.set(id, tile);
      this.container.prepend(tile.element);
      this.layout();
    }
    tile.setName(`${name} (screen)`, name);
    tile.setMedia({ audio: false, video: true });
    tile.attach(stream);
  }

  /** @param {string} id */
  removeScreen(id) {
    const tile = this.screens.get(id);
    if (!tile) return;
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

  /** @returns {HTMLVideoElement[]} videos that play remote sound */
  remoteVideos() {
    return [...this.remotes.values()].map((tile) => tile.video);
  }

  /** Sizes the tiles so that all fit the grid at 16:9, as large as possible. */
  layout() {
    const count = this.container.children.length;
    const style = getComputedStyle(this.container);
    const gap = parseFloat(style.columnGap) || 0;
    const width = this.container.clientWidth - (parseFloat(style.paddingLeft) || 0) - (parseFloat(style.paddingRight) || 0);
    const height = this.container.clientHeight - (parseFloat(style.paddingTop) || 0) - (parseFloat(style.paddingBottom) || 0);
    const { cols, tileWidth } = bestGrid(count, width, height, gap);
    this.container.style.setProperty('--cols', String(cols));
    this.container.style.setProperty('--tile-width', `${Math.max(tileWidth, 80)}px`);
    this.container.dataset.count = String(count);
  }
}
