// The `Signaling` connection that speaks the protocol (protocol.js): join, keepalive, and re-join
// after an unexpected drop, following a cluster's redirects. No DOM here: the room UI listens to
// `SignalingEvent`s and decides what to show.

import { PROTOCOL_VERSION } from './protocol.js';

/** @import { ClientMessage, ConnectionState, Credentials, EndReason, ErrorCode, MediaState, Signal, SignalingEvent, ServerMessage, TileView, RoomAction, Moderation } from './protocol.js' */

/** Ping this often; the server answers `pong`. */
export const PING_INTERVAL_MS = 5_000;
/** A connection that has delivered nothing for this long is dead, whatever the socket says. */
export const SILENCE_TIMEOUT_MS = 12_000;
/** Reconnect backoff: doubles from MIN to MAX, each delay drawn in [delay/2, delay]. */
export const RECONNECT_MIN_MS = 500;
export const RECONNECT_MAX_MS = 10_000;
/** A re-join refused as full or rate limited is retried at most this many times in a row. */
const MAX_REJOIN_REFUSALS = 5;
/** Redirects followed without a `joined` before going back to the entry address, backing off. */
const MAX_REDIRECTS_IN_ROW = 3;
/** A socket not open by then is given up: its node may be paused, its handshake never done. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** While a room moves between nodes (`room_moving`), the join is asked again this often... */
export const MOVING_RETRY_MS = 1_000;
/** ...for this long at most. */
const MOVING_RETRY_LIMIT_MS = 60_000;
/**
 * A join refused because the media server sheds load (`room_overloaded`, e.g. in a wave of joins)
 * is asked again after a wait drawn in [half, all] of this, so a crowd refused together does not
 * come back together...
 */
export const OVERLOADED_RETRY_MS = 4_000;
/** ...for this long at most. */
const OVERLOADED_RETRY_LIMIT_MS = 60_000;

/** Error codes that answer a `join` and mean "you are not in the room". */
const JOIN_REFUSALS = new Set([
  'unsupported_version', 'invalid_room', 'invalid_name', 'room_full', 'already_joined',
  'malformed_message', 'rate_limited', 'message_too_large', 'sfu_unavailable', 'room_overloaded',
  'token_required', 'token_expired', 'token_invalid', 'token_wrong_room', 'password_required',
  'wrong_password', 'too_many_attempts', 'room_locked', 'banned', 'storage_failed',
]);

/**
 * The `/ws` URL of an origin: the page's own, or a cluster node's.
 * @param {{ protocol: string, host: string }} [location]
 */
export function signalingUrl(location = window.location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/**
 * Delay before reconnect attempt number `attempt` (0-based): exponential with jitter.
 * @param {number} attempt
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 10));
  return Math.max(RECONNECT_MIN_MS, ceiling / 2 + random() * ceiling / 2);
}

/**
 * One participant's signaling connection. `join` connects and joins; after an unexpected drop it
 * reconnects with backoff and joins again with the same name and the latest media state. Every
 * successful (re-)join delivers a fresh `joined` message: the listener rebuilds its peers from it,
 * since the server gives a re-joined participant a new id.
 */
export class Signaling {
  /**
   * @param {(event: SignalingEvent) => void} listener
   * @param {string} [url]
   */
  constructor(listener, url = signalingUrl()) {
    this.listener = listener;
    /** The address the user came in by: every reconnect after a drop starts there again. */
    this.url = url;
    /**
     * The room's home node a `redirect` named (cluster mode): the next join goes there.
     * @type {{ url: string, node: string } | null}
     */
    this.home = null;
    this.redirectsInRow = 0;
    /**
     * When the first of the refusals in a row that pass (`retryLater`) came.
     * @type {number | null}
     */
    this.refusedSince = null;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {{ room: string, name: string, media: MediaState, credentials: Credentials, identity?: string } | null} */
    this.joinRequest = null;
    /**
     * The media state our last `join` message told: an `update` made while that join was on its
     * way is sent once it is answered.
     * @type {MediaState | null}
     */
    this.mediaAtJoin = null;
    /** The pass of a `migrate`, for the first join only: a later re-join is an ordinary one. */
    this.pass = '';
    /** A session the room moved away from: it carries the old media until closed, and never re-joins. */
    this.retired = false;
    /** @type {ConnectionState} */
    this.state = 'closed';
    /** @type {'idle' | 'joining' | 'joined' | 'ended'} */
    this.phase = 'idle';
    /** Joined at least once: a later drop is a "reconnecting", not a "connecting". */
    this.wasJoined = false;
    this.attempt = 0;
    this.refusalsInRow = 0;
    this.lastHeard = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.reconnectTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchdog = undefined;
  }

  /**
   * Connects and joins `room`. Call once; reconnects happen by themselves.
   * @param {string} room
   * @param {string} name
   * @param {MediaState} media
   * @param {Credentials} [credentials] a join token, or the room's password
   * @param {string} [identity] the secret that makes our scheduled messages and drawings ours
   *   after a reload (16..128 characters; the server keeps only its hash)
   */
  join(room, name, media, credentials = {}, identity) {
    this.joinRequest = { room, name, media: { ...media }, credentials: { ...credentials }, identity };
    this.phase = 'idle';
    this.attempt = 0;
    this.refusalsInRow = 0;
    this.wasJoined = false;
    this.setState('connecting');
    this.open();
  }

  /**
   * Joins the room on its new home (`migrate`: the node `from` is in drains) with `pass`, which
   * keeps our place there: same id, role and raised hand. `from` stays up until `retire`d and
   * closed; after a drop this session reconnects through the address `from` came in by.
   * @param {Signaling} from
   * @param {{ url: string, node: string, pass: string }} migrate
   */
  moveFrom(from, { url, node, pass }) {
    if (!from.joinRequest) return;
    this.url = from.url;
    this.joinRequest = { ...from.joinRequest, media: { ...from.joinRequest.media } };
    this.home = { url: signalingUrl(new URL(url)), node };
    this.pass = pass;
    this.wasJoined = true;
    this.open();
  }

  /**
   * The room moved on to another session (`moveFrom`): this one only carries the old media until
   * it is closed, and a drop ends it rather than re-joining.
   */
  retire() {
    this.retired = true;
  }

  /**
   * Tells the room our new media state; remembered for the next re-join.
   * @param {MediaState} media
   */
  update(media) {
    if (this.joinRequest) this.joinRequest.media = { ...media };
    if (this.phase === 'joined') this.send({ type: 'update', media: { ...media } });
  }

  /** @private */
  sendMediaChangedWhileJoining() {
    const media = this.joinRequest?.media;
    const told = this.mediaAtJoin;
    if (!media || !told) return;
    if (media.audio !== told.audio || media.video !== told.video || media.screen !== told.screen) {
      this.send({ type: 'update', media: { ...media } });
    }
  }

  /**
   * @param {string} to
   * @param {Signal} signal
   */
  signal(to, signal) {
    if (this.phase === 'joined') this.send({ type: 'signal', to, signal });
  }

  /**
   * Our side of the connection to the room's SFU (sfu rooms only).
   * @param {Signal} signal
   */
  sfuSignal(signal) {
    if (this.phase === 'joined') this.send({ type: 'sfu_signal', signal });
  }

  /** We open a new connection to the SFU, our old one's place being gone (`sfu_ended`). */
  sfuConnect() {
    if (this.phase === 'joined') this.send({ type: 'sfu_connect' });
  }

  /**
   * How we show the others' cameras (sfu rooms only).
   * @param {TileView[]} tiles
   */
  view(tiles) {
    if (this.phase === 'joined') this.send({ type: 'view', tiles });
  }

  /**
   * Chat, whiteboard, hands, title, reactions. Dropped while not joined: the state they would
   * change arrives whole after the re-join.
   * @param {RoomAction} action
   */
  act(action) {
    if (this.phase === 'joined') this.send(action);
  }

  /**
   * A host's moderation request; the server refuses it from anyone else.
   * @param {Moderation} action
   */
  moderate(action) {
    if (this.phase === 'joined') this.send({ type: 'moderate', action });
  }

  /** Leaves the room and closes for good. */
  leave() {
    if (this.phase === 'joined') this.send({ type: 'leave' });
    this.end({ kind: 'left' }, 1000);
  }

  /**
   * Sends one message if the socket is open; messages sent while disconnected are dropped, since
   * everything they could refer to is rebuilt after the re-join.
   * @param {ClientMessage} message
   */
  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  /** @private */
  open() {
    clearTimeout(this.reconnectTimer);
    const socket = new WebSocket(this.home ? this.home.url : this.url);
    this.socket = socket;
    this.phase = 'joining';
    const connecting = setTimeout(() => {
      if (socket !== this.socket || socket.readyState !== WebSocket.CONNECTING) return;
      socket.close();
      this.dropped(1006, 'no answer');
    }, CONNECT_TIMEOUT_MS);
    socket.addEventListener('open', () => {
      clearTimeout(connecting);
      if (socket !== this.socket || !this.joinRequest) return;
      this.lastHeard = Date.now();
      this.startWatchdog();
      const { room, name, media, credentials, identity } = this.joinRequest;
      const home = this.home ? { home: this.home.node } : {};
      const pass = this.pass ? { pass: this.pass } : {};
      this.mediaAtJoin = { ...media };
      this.send({ type: 'join', room, name, version: PROTOCOL_VERSION, media, ...credentials, ...(identity ? { identity } : {}), ...home, ...pass });
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      if (typeof event.data !== 'string') return;
      /** @type {ServerMessage} */
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn('huddle: ignoring a frame that is not JSON');
        return;
      }
      this.receive(message);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.socket) return;
      this.dropped(event.code, event.reason);
    });
    // An `error` is always followed by `close`, which does the work.
  }

  /**
   * @private
   * @param {ServerMessage} message
   */
  receive(message) {
    if (message.type === 'joined') {
      this.phase = 'joined';
      this.wasJoined = true;
      this.attempt = 0;
      this.refusalsInRow = 0;
      this.redirectsInRow = 0;
      this.refusedSince = null;
      this.pass = '';
      this.startPing();
      this.sendMediaChangedWhileJoining();
      this.setState('connected');
    } else if (message.type === 'waiting') {
      // In the lobby: keep the connection alive until a host answers.
      this.startPing();
    } else if (message.type === 'removed') {
      this.end({ kind: 'removed', reason: message.reason, message: message.message }, null);
      return;
    } else if (message.type === 'redirect') {
      this.follow(message.url, message.node);
      return;
    } else if (message.type === 'error' && message.code === 'room_moving') {
      this.retryLater(message.code, message.message, MOVING_RETRY_MS, MOVING_RETRY_LIMIT_MS);
      return;
    } else if (message.type === 'error' && this.phase === 'joining' && message.code === 'room_overloaded') {
      const wait = OVERLOADED_RETRY_MS * (0.5 + Math.random() / 2);
      this.retryLater(message.code, message.message, wait, OVERLOADED_RETRY_LIMIT_MS);
      return;
    } else if (message.type === 'error' && this.phase === 'joining' && JOIN_REFUSALS.has(message.code)) {
      this.refused(message.code, message.message);
      return;
    } else if (message.type === 'error') {
      console.warn(`huddle: server error ${message.code}: ${message.message}`);
    }
    this.listener({ kind: 'message', message });
  }

  /**
   * A join was refused. A first join ends here; a re-join refused as full or rate limited is most
   * likely our own ghost still holding the seat, so it is retried a few times.
   * @private
   * @param {ErrorCode} code
   * @param {string} message
   */
  refused(code, message) {
    const transient = code === 'room_full' || code === 'rate_limited';
    if (this.wasJoined && transient && this.refusalsInRow < MAX_REJOIN_REFUSALS) {
      this.refusalsInRow += 1;
      this.scheduleReconnect();
      return;
    }
    this.end({ kind: 'refused', code, message }, 1000);
  }

  /**
   * The room lives on another node: join there at once (a few times in a row at most; then the
   * entry address again, after a back-off).
   * @private
   * @param {string} url the node's public URL
   * @param {string} node
   */
  follow(url, node) {
    if (this.redirectsInRow >= MAX_REDIRECTS_IN_ROW) {
      this.scheduleReconnect();
      return;
    }
    this.redirectsInRow += 1;
    this.drop('redirected');
    this.home = { url: signalingUrl(new URL(url)), node };
    this.open();
  }

  /**
   * A refusal that passes: the room's home cannot be told now (its node went away, its lease not
   * expired yet: asked again through the entry address), or its media server sheds load. The join
   * is asked again after `waitMs`, until `limitMs` after the first such refusal in a row.
   * @private
   * @param {ErrorCode} code
   * @param {string} message
   * @param {number} waitMs
   * @param {number} limitMs
   */
  retryLater(code, message, waitMs, limitMs) {
    const now = Date.now();
    this.refusedSince ??= now;
    if (now - this.refusedSince > limitMs) {
      this.end({ kind: 'refused', code, message }, 1000);
      return;
    }
    this.drop(code);
    this.listener({ kind: 'retrying', code, message });
    this.reconnectTimer = setTimeout(() => this.open(), waitMs);
  }

  /**
   * Lets go of the current socket, to open another.
   * @private
   * @param {string} why
   */
  drop(why) {
    this.stopTimers();
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(4000, why);
    this.home = null;
    this.phase = 'idle';
    this.setState(this.wasJoined ? 'reconnecting' : 'connecting');
  }

  /**
   * The socket closed without us asking.
   * @private
   * @param {number} code
   * @param {string} reason
   */
  dropped(code, reason) {
    if (this.phase === 'ended') return;
    if (this.home && this.phase === 'joining') {
      // The home a redirect named did not answer (its node died, and the directory has not
      // noticed yet): the entry tells where the room is now, as while it moves.
      this.retryLater('room_moving', 'the room\'s node did not answer', MOVING_RETRY_MS, MOVING_RETRY_LIMIT_MS);
    } else if (code === 1008) {
      this.end({ kind: 'kicked', message: reason || 'The server closed the connection.' }, null);
    } else if (code === 1000 && this.phase === 'joined') {
      this.end({ kind: 'closed', message: reason || 'The server ended the session.' }, null);
    } else {
      // 1001 (server shutting down), 1006 (network), our own watchdog close, ...
      this.scheduleReconnect();
    }
  }

  /** @private */
  scheduleReconnect() {
    if (this.retired) {
      this.end({ kind: 'closed', message: 'the room moved on' }, 1000);
      return;
    }
    this.drop('reconnecting');
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /**
   * @private
   * @param {EndReason} reason
   * @param {number | null} closeCode close our socket with this code, or null if it is closed already
   */
  end(reason, closeCode) {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.stopTimers();
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket && closeCode !== null && socket.readyState <= WebSocket.OPEN) socket.close(closeCode);
    this.setState('closed');
    this.listener({ kind: 'ended', reason });
  }

  /** @private */
  startPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_INTERVAL_MS);
  }

  /** @private */
  startWatchdog() {
    clearInterval(this.watchdog);
    let lastTick = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      const late = now - lastTick > 3_000;
      lastTick = now;
      if (late) {
        // A background tab's timers were throttled, our pings with them: the silence is ours, so
        // ping now and give the server a fresh chance to answer.
        this.send({ type: 'ping' });
        this.lastHeard = now;
      } else if (now - this.lastHeard > SILENCE_TIMEOUT_MS) {
        console.warn('huddle: signaling silent for too long, reconnecting');
        this.scheduleReconnect();
      }
    }, 1_000);
  }

  /** @private */
  stopTimers() {
    clearInterval(this.pingTimer);
    clearInterval(this.watchdog);
  }

  /**
   * @private
   * @param {ConnectionState} state
   */
  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.listener({ kind: 'state', state });
  }
}
