// The call as this client knows it, without any UI: who we are in it (id, name, role), who else
// is in the room, the ICE servers the server gave us, and what the others were last told of our
// media. Fed the server's messages about people, it keeps that state whole and says what changed
// as typed events; room.js draws them.

/** @import { IceServer, JoinedMessage, MediaState, Participant, Role } from './protocol.js' */

/**
 * What changed in the call.
 * @typedef {{ kind: 'joined', joined: JoinedMessage }
 *   | { kind: 'moved', joined: JoinedMessage }
 *   | { kind: 'role', role: Role }
 *   | { kind: 'participant', participant: Participant, newcomer: boolean }
 *   | { kind: 'left', id: string }} CallEvent
 */

export class Call {
  /**
   * @param {string} name ours, as the others see it
   * @param {MediaState} media ours as we join: the join tells it
   * @param {(event: CallEvent) => void} listener
   */
  constructor(name, media, listener) {
    this.name = name;
    this.listener = listener;
    this.selfId = '';
    /** @type {Role} */
    this.role = 'participant';
    /** @type {IceServer[]} from `joined`, for connections made later by a switch */
    this.iceServers = [];
    /** @type {Map<string, Participant>} the others, by id */
    this.participants = new Map();
    /** @type {MediaState} what the others were last told */
    this.announced = { ...media };
    /** @type {Set<string>} during a move to another node, those not seen there yet */
    this.unconfirmed = new Set();
  }

  /**
   * A (re-)join: the server gave us a new id and the others know us afresh, with `media` (the
   * join carried it). Says our `role` (a viewer's devices close before anything connects), then
   * `joined`, then each other participant.
   * @param {JoinedMessage} joined
   * @param {MediaState} media
   */
  joined(joined, media) {
    this.selfId = joined.you;
    this.iceServers = joined.ice_servers;
    this.participants.clear();
    this.announced = { ...media };
    this.setRole(joined.role ?? 'participant');
    this.listener({ kind: 'joined', joined });
    for (const participant of joined.participants) {
      if (participant.id !== this.selfId) this.seen(participant);
    }
  }

  /**
   * We joined the room on its new node (a drain moved it) and kept our id; so do the others as
   * they arrive there. Whom we knew stays (their tiles show the old node's media meanwhile)
   * until `confirmMove` drops whoever never arrived. Says our role, `moved`, then each
   * participant there (a newcomer only if we did not know them).
   * @param {JoinedMessage} joined
   */
  moved(joined) {
    this.selfId = joined.you;
    this.iceServers = joined.ice_servers;
    this.unconfirmed = new Set(this.participants.keys());
    this.setRole(joined.role ?? this.role);
    this.listener({ kind: 'moved', joined });
    for (const participant of joined.participants) {
      if (participant.id !== this.selfId) this.seen(participant);
    }
  }

  /** The move is over: whoever we knew and never met on the new node is gone. */
  confirmMove() {
    for (const id of this.unconfirmed) this.left(id);
    this.unconfirmed.clear();
  }

  /**
   * Somebody joined or changed (`participant_joined`, `participant_updated`). Our own entry only
   * tells our role: our tile is drawn from local state.
   * @param {Participant} participant
   */
  seen(participant) {
    if (participant.id === this.selfId) {
      this.setRole(participant.role ?? this.role);
      return;
    }
    const newcomer = !this.participants.has(participant.id);
    this.unconfirmed.delete(participant.id);
    this.participants.set(participant.id, participant);
    this.listener({ kind: 'participant', participant, newcomer });
  }

  /** @param {string} id somebody left */
  left(id) {
    if (this.participants.delete(id)) this.listener({ kind: 'left', id });
  }

  /**
   * Our role, from `joined` or from our own entry in an update (a host's hand-over).
   * @param {Role} role
   */
  setRole(role) {
    this.role = role;
    this.listener({ kind: 'role', role });
  }

  /**
   * What to tell the room of our media now: `media` if it differs from what the others were told
   * last (and it is remembered as told), else null.
   * @param {MediaState} media
   * @returns {MediaState | null}
   */
  toAnnounce(media) {
    const before = this.announced;
    if (before.audio === media.audio && before.video === media.video && before.screen === media.screen) return null;
    this.announced = { ...media };
    return this.announced;
  }
}
