// The call's signaling sessions: the one the call runs on, and while the room moves to another
// cluster node (`migrate`: its node drains) the one joining the room there, then the one left
// behind, which only carries what the old media connection needs until every tile moved. No DOM:
// room.js hears each session's events through the callbacks and says when the move is over.

import { Signaling } from './signaling.js';

/** @import { JoinedMessage, ServerMessage, SignalingEvent } from './protocol.js' */

/**
 * @typedef {object} SessionsOptions
 * @property {(event: SignalingEvent) => void} current an event of the session the call runs on
 * @property {(joined: JoinedMessage) => void} moved the next node's session is joined and is the
 *   call's session now
 * @property {(message: ServerMessage) => void} old a message of the session left behind
 * @property {() => void} [stayed] the next node would not have us: the call stays where it was
 *   (and reconnects through the entry when that node cuts it off)
 */

export class CallSessions {
  /** @param {SessionsOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Signaling | null} the session the call runs on */
    this.current = null;
    /** @type {Signaling | null} during a move, the session joining the room on its next node */
    this.arriving = null;
    /** @type {Signaling | null} after a move's join, the session on the node the room left */
    this.leaving = null;
  }

  /** The call's first session (call `join` on it). */
  start() {
    this.current = this.session();
    return this.current;
  }

  /**
   * The room moves (`migrate`): join it on its next node with the pass, next to this session.
   * @param {{ url: string, node: string, pass: string }} migrate
   */
  moveTo(migrate) {
    if (!this.current || this.arriving) return;
    // A move still under way when the next begins: its old node's session goes now.
    this.finishMove();
    this.arriving = this.session();
    this.arriving.moveFrom(this.current, migrate);
  }

  /** Whether a move is under way: joining the next node, or leaving the old one. */
  get moving() {
    return this.arriving !== null || this.leaving !== null;
  }

  /** The new node's media shows everywhere: the old node's session leaves. */
  finishMove() {
    const old = this.leaving;
    this.leaving = null;
    old?.leave();
  }

  /** Every session leaves (the page goes, or the call ended). */
  leaveAll() {
    const sessions = [this.current, this.arriving, this.leaving];
    this.arriving = this.leaving = null;
    for (const session of sessions) session?.leave();
  }

  /**
   * A signaling session whose events say which session they come from.
   * @private
   */
  session() {
    /** @type {Signaling} */
    const session = new Signaling((event) => this.route(session, event));
    return session;
  }

  /**
   * @private
   * @param {Signaling} session
   * @param {SignalingEvent} event
   */
  route(session, event) {
    if (session === this.current) this.options.current(event);
    else if (session === this.arriving) this.arrival(event);
    else if (session === this.leaving && event.kind === 'message') this.options.old(event.message);
  }

  /**
   * @private
   * @param {SignalingEvent} event from the session joining the room's next node
   */
  arrival(event) {
    if (event.kind === 'message' && event.message.type === 'joined') {
      this.leaving = this.current;
      this.current = this.arriving;
      this.arriving = null;
      this.leaving?.retire();
      this.options.moved(event.message);
    } else if (event.kind === 'ended') {
      console.warn('huddle: could not move with the room', event.reason);
      this.arriving = null;
      this.options.stayed?.();
    }
  }
}
