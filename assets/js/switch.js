// Moving a call from one MediaConnection to another without a gap in anyone's video: an auto room
// crossed its threshold (`media_mode`), so the browser goes from its mesh to the SFU, or back.
//
// The new connection comes up next to the old one. Each remote tile keeps showing the old
// connection's stream until the new connection has decoded a frame of that participant's camera
// (checked on a hidden, muted probe video, so the new audio never plays twice), then the tile
// swaps to the new stream. Once every tile has moved, room.js closes the old connection. A
// participant without a camera moves as soon as the new connection carries any of its tracks; a
// deadline moves whoever is left, e.g. a participant whose old connection had died anyway.
// UI side: it uses video elements, and room.js owns the tiles.

/** @import { MediaConnection } from './connection.js' */
/** @import { MediaMode } from './protocol.js' */

/** Every tile has moved to the new connection by then, frames or not. */
export const SWITCH_DEADLINE_MS = 10_000;

/**
 * @typedef {object} SwitchOptions
 * @property {MediaMode} mode the mode switched to
 * @property {MediaConnection} to the connection switched to
 * @property {(id: string) => void} move make `id`'s tile show what `to` receives from it
 * @property {() => void} done every tile shows `to`
 */

export class MediaSwitch {
  /** @param {SwitchOptions} options */
  constructor(options) {
    this.mode = options.mode;
    this.to = options.to;
    this.options = options;
    /** @type {Set<string>} participants whose tiles still show the old connection */
    this.waiting = new Set();
    /** @type {Set<string>} participants whose tiles show the new connection */
    this.moved = new Set();
    /** @type {Map<string, HTMLVideoElement>} */
    this.probes = new Map();
    this.finished = false;
    this.deadline = setTimeout(() => this.finish(), SWITCH_DEADLINE_MS);
  }

  /**
   * Keeps `id`'s tile on the old connection until the new one shows it.
   * @param {string} id
   */
  wait(id) {
    if (!this.moved.has(id)) this.waiting.add(id);
  }

  /**
   * `id` came after the switch began: only the new connection knows it.
   * @param {string} id
   */
  adopt(id) {
    this.waiting.delete(id);
    this.moved.add(id);
  }

  /** @param {string} id */
  shows(id) {
    return this.moved.has(id);
  }

  /**
   * The new connection delivered tracks for `id`.
   * @param {string} id
   * @param {MediaStream} camera what it receives from `id`'s camera and microphone
   * @param {boolean} cameraOn whether `id` says its camera is on
   */
  tracksArrived(id, camera, cameraOn) {
    if (!this.waiting.has(id)) return;
    const [video] = camera.getVideoTracks();
    if (!cameraOn) this.moveNow(id);
    else if (video && !this.probes.has(id)) this.probe(id, video);
  }

  /** @param {string} id left the call */
  forget(id) {
    this.stopProbe(id);
    this.waiting.delete(id);
    this.moved.delete(id);
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
   * Plays the new track muted and off screen; its first decoded frame means the tile can swap.
   * @private
   * @param {string} id
   * @param {MediaStreamTrack} track
   */
  probe(id, track) {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    video.addEventListener('loadeddata', () => this.moveNow(id), { once: true });
    video.play().catch(() => {});
    this.probes.set(id, video);
  }

  /**
   * @private
   * @param {string} id
   */
  stopProbe(id) {
    const video = this.probes.get(id);
    if (!video) return;
    video.srcObject = null;
    this.probes.delete(id);
  }

  /**
   * @private
   * @param {string} id
   */
  moveNow(id) {
    this.move(id);
    this.settle();
  }

  /**
   * @private
   * @param {string} id
   */
  move(id) {
    if (this.finished || !this.waiting.has(id)) return;
    this.stopProbe(id);
    this.waiting.delete(id);
    this.moved.add(id);
    this.options.move(id);
  }

  /** @private */
  finish() {
    if (this.finished) return;
    for (const id of [...this.waiting]) this.move(id);
    this.finished = true;
    clearTimeout(this.deadline);
    this.options.done();
  }
}
