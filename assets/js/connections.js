// The call's media connections: the one the tiles show, and during a media-mode switch the next
// one (`media_mode`: an auto room went from mesh to SFU or back). A `MediaSwitch` (switch.js) moves
// the tiles to the new connection one by one without a gap; then the old connection is closed.
// room.js makes the connections and draws the tiles; this decides which connection shows whom.
//
// Stable hooks: body[data-media-mode="mesh|sfu"] (the connection the tiles show; during a switch
// also body[data-media-switch="mesh|sfu"]).

import { MediaSwitch } from './switch.js';

/** @import { MediaConnection } from './media-connection.js' */
/** @import { Mesh } from './mesh.js' */
/** @import { SfuConnection } from './sfu.js' */
/** @import { MediaMode, Participant, TileSource } from './protocol.js' */
/** @import { Slot } from './media-connection.js' */

/**
 * @typedef {object} ConnectionsOptions
 * @property {(mode: MediaMode) => MediaConnection} connect a new connection of `mode`, sending what we send
 * @property {(connection: MediaConnection, id: string, source?: TileSource) => void} show make `id`'s
 *   tiles (both, or only `source`'s) show what `connection` receives from it
 * @property {() => Iterable<Participant>} participants the remote participants
 * @property {(mode: MediaMode) => void} switching a switch to `mode` began (its connection exists)
 * @property {(mode: MediaMode) => void} switched every tile shows the connection of `mode`
 */

export class CallConnections {
  /** @param {ConnectionsOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {MediaConnection | null} the mesh or the SFU connection, as the room's media mode says */
    this.current = null;
    /** @type {MediaSwitch | null} the connection of the room's new media mode, while tiles move to it */
    this.switch = null;
  }

  /**
   * A fresh start in `mode` (`joined`, also after a reconnect): whatever was there goes.
   * @param {MediaMode} mode
   */
  open(mode) {
    this.close();
    document.body.dataset.mediaMode = mode;
    this.current = this.options.connect(mode);
  }

  close() {
    this.abortSwitch();
    this.current?.close();
    this.current = null;
  }

  /**
   * The room now carries media in `mode` (`media_mode`): connect that way, then move the tiles.
   * @param {MediaMode} mode
   */
  switchTo(mode) {
    const current = this.current;
    if (!current) return;
    if ((this.switch?.mode ?? current.mode) === mode) return;
    if (this.switch) {
      this.abortSwitch();
      // Back to the mesh we still have. Back to the SFU needs a new connection all the same: the
      // server gave us a fresh place in it when the room went up again.
      if (mode === 'mesh') return;
    }
    this.begin(mode);
  }

  /**
   * The SFU dropped our connection to it (`sfu_ended`: ICE was lost and not restarted in time). A
   * new connection replaces it the way a media-mode switch does, each tile moving once it shows
   * the new connection's media; what the old one shows until then is frozen anyway.
   */
  reconnectSfu() {
    if (!this.of('sfu')) return;
    this.abortSwitch();
    // No switch left: an SFU connection is the current one.
    this.of('sfu')?.detach();
    this.begin('sfu');
  }

  /**
   * The room moved to another node (a drain): a connection of `mode` through our session there
   * replaces the current one, tile by tile, as a media-mode switch does. It meets each participant
   * only once they are on the new node too (`met`): an offer to somebody not there yet is lost.
   * @param {MediaMode} mode
   */
  moveTo(mode) {
    if (!this.current) return;
    this.abortSwitch();
    this.begin(mode, false);
  }

  /**
   * Opens the connection of `mode` and starts moving the tiles to it.
   * @private
   * @param {MediaMode} mode
   * @param {boolean} [meetAll] whether the new connection meets every participant at once
   */
  begin(mode, meetAll = true) {
    const to = this.options.connect(mode);
    const moving = new MediaSwitch({ mode, to, move: (id, source) => this.options.show(to, id, source), done: () => this.finishSwitch() });
    this.switch = moving;
    document.body.dataset.mediaSwitch = mode;
    for (const participant of this.options.participants()) {
      if (meetAll) to.remote(participant.id);
      moving.wait(participant.id, participant.screen);
    }
    this.options.switching(mode);
    moving.settle();
  }

  /**
   * The connection whose streams `id`'s camera (or screen) tile shows.
   * @param {string} id
   * @param {TileSource} [source]
   * @returns {MediaConnection}
   */
  shownBy(id, source = 'camera') {
    const moving = this.switch;
    const current = this.current;
    if (moving && (moving.shows(id, source) || !current)) return moving.to;
    if (!current) throw new Error('no connection to show');
    return current;
  }

  /**
   * The connection of this mode, the one being switched to first (an SFU connection replacing
   * another gets the server's messages, the old one's place is gone).
   * @overload
   * @param {'sfu'} mode
   * @returns {SfuConnection | null}
   */
  /**
   * @overload
   * @param {'mesh'} mode
   * @returns {Mesh | null}
   */
  /**
   * @param {MediaMode} mode
   * @returns {MediaConnection | null}
   */
  of(mode) {
    for (const connection of [this.switch?.to, this.current]) {
      if (connection?.mode === mode) return connection;
    }
    return null;
  }

  /**
   * Sends `track` in `slot` on every connection.
   * @param {Slot} slot
   * @param {MediaStreamTrack | null} track
   */
  setTrack(slot, track) {
    return Promise.all([this.current?.setTrack(slot, track), this.switch?.to.setTrack(slot, track)]);
  }

  /**
   * `id` is in the call (joined, changed, or arrived on the room's new node): during a switch, a
   * newcomer is met on the new connection only; one whose tiles wait is met there now.
   * @param {string} id
   * @param {boolean} newcomer
   */
  met(id, newcomer) {
    const moving = this.switch;
    if (moving?.waits(id)) moving.to.remote(id);
    else if (newcomer) moving?.adopt(id);
  }

  /**
   * `id` left.
   * @param {string} id
   */
  remove(id) {
    this.current?.remove(id);
    this.switch?.to.remove(id);
    this.switch?.forget(id);
  }

  /**
   * `source` delivered tracks for `participant`: a switch may move its tiles.
   * @param {MediaConnection} source
   * @param {Participant} participant
   */
  tracksArrived(source, participant) {
    const moving = this.switch;
    if (moving?.to === source) moving.tracksArrived(participant.id, source.remote(participant.id), participant);
  }

  /**
   * Every tile shows the new connection: the old one can go.
   * @private
   */
  finishSwitch() {
    const moving = this.switch;
    if (!moving) return;
    this.switch = null;
    this.current?.close();
    this.current = moving.to;
    document.body.dataset.mediaMode = moving.mode;
    delete document.body.dataset.mediaSwitch;
    // A screen share that began during the switch was still shown from the old connection.
    for (const participant of this.options.participants()) this.options.show(moving.to, participant.id, 'screen');
    this.options.switched(moving.mode);
  }

  /**
   * Drops a switch under way; the tiles it moved go back to the current connection.
   * @private
   */
  abortSwitch() {
    const moving = this.switch;
    if (!moving) return;
    this.switch = null;
    moving.abort();
    moving.to.close();
    delete document.body.dataset.mediaSwitch;
    const current = this.current;
    if (current) {
      for (const [id, source] of moving.movedTiles()) this.options.show(current, id, source);
    }
  }
}
