// Moving a call from one MediaConnection to another without a gap in anyone's video: an auto room
// crossed its threshold (`media_mode`), so the browser goes from its mesh to the SFU, or back.
//
// The new connection comes up next to the old one. Each remote tile (a camera, a screen share)
// keeps showing the old connection's stream until the new connection has decoded a frame of that
// very video (checked on a hidden, muted probe video, so the new audio never plays twice), then the
// tile swaps to the new stream: a participant's camera and screen tiles swap each on its own first
// frame. Once every tile has moved, connections.js closes the old connection. A camera that is off
// moves as soon as the new connection carries any of its participant's tracks; a deadline moves
// whatever is left, e.g. a participant whose old connection had died anyway.
// UI side: it uses video elements, and room.js owns the tiles.

/** @import { MediaConnection, RemoteMedia } from './media-connection.js' */
/** @import { MediaMode, TileSource } from './protocol.js' */

/** @typedef {`${TileSource}/${string}`} TileKey */

/**
 * @param {string} id
 * @param {TileSource} source
 * @returns {TileKey}
 */
const keyOf = (id, source) => `${source}/${id}`;
/**
 * @param {TileKey} key
 * @returns {[string, TileSource]} the participant and the source
 */
const parse = (key) => {
  const at = key.indexOf('/');
  return [key.slice(at + 1), /** @type {TileSource} */ (key.slice(0, at))];
};

/** Every tile has moved to the new connection by then, frames or not. */
export const SWITCH_DEADLINE_MS = 10_000;

/**
 * @typedef {object} SwitchOptions
 * @property {MediaMode} mode the mode switched to
 * @property {MediaConnection} to the connection switched to
 * @property {(id: string, source: TileSource) => void} move make `id`'s camera or screen tile show
 *   what `to` receives from it
 * @property {() => void} done every tile shows `to`
 */

export class MediaSwitch {
  /** @param {SwitchOptions} options */
  constructor(options) {
    this.mode = options.mode;
    this.to = options.to;
    this.options = options;
    /** @type {Set<TileKey>} tiles that still show the old connection */
    this.waiting = new Set();
    /** @type {Set<TileKey>} tiles that show the new connection */
    this.moved = new Set();
    /** @type {Map<TileKey, HTMLVideoElement>} */
    this.probes = new Map();
    this.finished = false;
    this.deadline = setTimeout(() => this.finish(), SWITCH_DEADLINE_MS);
  }

  /**
   * Keeps `id`'s tiles on the old connection until the new one shows them.
   * @param {string} id
   * @param {boolean} sharing whether `id` shares a screen (whose tile moves on its own)
   */
  wait(id, sharing) {
    for (const source of /** @type {TileSource[]} */ (sharing ? ['camera', 'screen'] : ['camera'])) {
      const key = keyOf(id, source);
      if (!this.moved.has(key)) this.waiting.add(key);
    }
  }

  /**
   * Whether a tile of `id` still shows the old connection.
   * @param {string} id
   */
  waits(id) {
    return this.waiting.has(keyOf(id, 'camera')) || this.waiting.has(keyOf(id, 'screen'));
  }

  /**
   * `id` came after the switch began: only the new connection knows it.
   * @param {string} id
   */
  adopt(id) {
    for (const source of /** @type {TileSource[]} */ (['camera', 'screen'])) {
      this.waiting.delete(keyOf(id, source));
      this.moved.add(keyOf(id, source));
    }
  }

  /**
   * @param {string} id
   * @param {TileSource} source
   */
  shows(id, source) {
    return this.moved.has(keyOf(id, source));
  }

  /**
   * The new connection delivered tracks for `id`.
   * @param {string} id
   * @param {RemoteMedia} remote what it receives from `id`
   * @param {{ video: boolean, screen: boolean }} state whether `id` says its camera is on and it shares a screen
   */
  tracksArrived(id, remote, state) {
    this.arrived(keyOf(id, 'camera'), remote.camera, state.video);
    this.arrived(keyOf(id, 'screen'), remote.screen, state.screen);
  }

  /** @param {string} id left the call */
  forget(id) {
    for (const source of /** @type {TileSource[]} */ (['camera', 'screen'])) {
      const key = keyOf(id, source);
      this.stopProbe(key);
      this.waiting.delete(key);
      this.moved.delete(key);
    }
    this.settle();
  }

  /** Stops without finishing (a switch the other way came first); room.js closes `to`. */
  abort() {
    this.finished = true;
    clearTimeout(this.deadline);
    for (const id of [...this.probes.keys()]) this.stopProbe(id);
  }

  /** Call once the participants are known: a call with nobody to wait for is done at once. */
  settle() {
    if (!this.finished && this.waiting.size === 0) this.finish();
  }

  /**
   * @private
   * @param {TileKey} key
   * @param {MediaStream} stream what the new connection receives for that tile
   * @param {boolean} on whether that video is on at all (a camera that is off has nothing to wait for)
   */
  arrived(key, stream, on) {
    if (!this.waiting.has(key)) return;
    const [video] = stream.getVideoTracks();
    if (!on) this.moveNow(key);
    else if (video && !this.probes.has(key)) this.probe(key, video);
  }

  /**
   * Plays the new track muted and off screen; its first decoded frame means the tile can swap.
   * @private
   * @param {TileKey} key
   * @param {MediaStreamTrack} track
   */
  probe(key, track) {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    video.addEventListener('loadeddata', () => this.moveNow(key), { once: true });
    video.play().catch(() => {});
    this.probes.set(key, video);
  }

  /**
   * @private
   * @param {TileKey} key
   */
  stopProbe(key) {
    const video = this.probes.get(key);
    if (!video) return;
    video.srcObject = null;
    this.probes.delete(key);
  }

  /**
   * @private
   * @param {TileKey} key
   */
  moveNow(key) {
    this.move(key);
    this.settle();
  }

  /**
   * @private
   * @param {TileKey} key
   */
  move(key) {
    if (this.finished || !this.waiting.has(key)) return;
    this.stopProbe(key);
    this.waiting.delete(key);
    this.moved.add(key);
    this.options.move(...parse(key));
  }

  /** The tiles that show the new connection, as (participant, source). */
  movedTiles() {
    return [...this.moved].map(parse);
  }

  /** @private */
  finish() {
    if (this.finished) return;
    for (const key of [...this.waiting]) this.move(key);
    this.finished = true;
    clearTimeout(this.deadline);
    this.options.done();
  }
}
