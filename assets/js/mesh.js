// The mesh: one RTCPeerConnection per remote participant, negotiated with the "perfect negotiation"
// pattern. No DOM here: the UI gets each peer's incoming streams through `MeshEvent`s.
//
// Every connection carries three transceivers in a fixed order, so both ends agree what each is
// without extra signaling:
//   0: microphone audio   (local stream "camera")
//   1: camera video       (local stream "camera")
//   2: screen-share video (local stream "screen", its own MediaStream)
// Only the impolite end (the larger id) creates them, so the first offer never collides; the polite
// end adopts them from that offer and turns them sendrecv before answering. Later negotiations
// (ICE restarts) may start from either end and perfect negotiation settles collisions.
// Each connection also carries the "files" data channel (files.js), negotiated out of band with a
// fixed stream id so neither end waits for the other to announce it; the polite end creates its
// side while adopting the first offer, which already holds the data m-line, so no second round. Turning
// camera, mic or screen on and off is `replaceTrack` on these senders: no renegotiation.

/** @import { Signal, IceServer } from './protocol.js' */
/** @import { MediaConnection, Slot } from './media-connection.js' */

import { Negotiation } from './negotiation.js';
import { FILES_LABEL } from './files.js';
import { SLOTS } from './media-connection.js';

/** The "files" channel's SCTP stream id, the same at both ends. */
const FILES_CHANNEL_ID = 0;

/**
 * @typedef {{ kind: 'signal', to: string, signal: Signal }
 *         | { kind: 'tracks', id: string }
 *         | { kind: 'data_channel', id: string, channel: RTCDataChannel }
 *         | { kind: 'connection', id: string, state: RTCPeerConnectionState }} MeshEvent
 */

/**
 * @typedef {object} MeshOptions
 * @property {string} selfId our participant id
 * @property {IceServer[]} iceServers
 * @property {RTCIceTransportPolicy} [iceTransportPolicy]
 * @property {boolean} [receiveOnly] a viewer: offers and answers carry no sending direction, which
 *   the server requires of viewers
 * @property {(event: MeshEvent) => void} listener
 */

/** @param {string} selfId @param {string} remoteId */
export function isPolite(selfId, remoteId) {
  return selfId < remoteId;
}

/** @implements {MediaConnection} */
export class Mesh {
  /** @param {MeshOptions} options */
  constructor(options) {
    this.options = options;
    this.mode = /** @type {const} */ ('mesh');
    /** @type {Map<string, Peer>} */
    this.peers = new Map();
    /** @type {Record<Slot, MediaStreamTrack | null>} */
    this.tracks = { audio: null, video: null, screen: null };
    // The msids the receivers see: camera and mic share one stream, the screen has its own.
    this.cameraStream = new MediaStream();
    this.screenStream = new MediaStream();
  }

  /**
   * The peer for `id`, created on first use.
   * @param {string} id
   */
  peer(id) {
    let peer = this.peers.get(id);
    if (!peer) {
      peer = new Peer(this, id);
      this.peers.set(id, peer);
    }
    return peer;
  }

  /**
   * What `id` sends us (MediaConnection).
   * @param {string} id
   */
  remote(id) {
    return this.peer(id);
  }

  /**
   * How loud `id`'s microphone is right now, 0..1.
   * @param {string} id
   */
  audioLevel(id) {
    return this.peers.get(id)?.audioLevel() ?? 0;
  }

  /**
   * Each peer has its own connection: all of its stats are about `id`.
   * @param {string} id
   */
  async receivedStats(id) {
    const peer = this.peers.get(id);
    return peer ? { report: await peer.pc.getStats(), mids: null } : null;
  }

  /** @param {string} id */
  remove(id) {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  close() {
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
  }

  /**
   * Sends `track` (or nothing) in `slot` to every peer.
   * @param {Slot} slot
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(slot, track) {
    this.tracks[slot] = track;
    await Promise.all([...this.peers.values()].map((peer) => peer.sendTrack(slot, track)));
  }

  /**
   * @param {string} from
   * @param {Signal} signal
   */
  handleSignal(from, signal) {
    this.peer(from).handleSignal(signal);
  }
}

/** One remote participant's connection. */
export class Peer {
  /**
   * @param {Mesh} mesh
   * @param {string} id
   */
  constructor(mesh, id) {
    this.mesh = mesh;
    this.id = id;
    this.polite = isPolite(mesh.options.selfId, id);
    /** What this participant sends us: their camera + mic, and their screen. */
    this.camera = new MediaStream();
    this.screen = new MediaStream();
    /** @type {WeakSet<RTCRtpTransceiver>} transceivers already set up to send */
    this.adopted = new WeakSet();
    /** @type {RTCDataChannel | null} */
    this.files = null;
    this.closed = false;

    const { iceServers, iceTransportPolicy } = mesh.options;
    this.pc = new RTCPeerConnection({
      iceServers: iceServers.map(({ urls, username, credential }) => ({ urls, username, credential })),
      iceTransportPolicy: iceTransportPolicy ?? 'all',
    });
    this.negotiation = new Negotiation(this.pc, {
      polite: this.polite,
      label: id,
      send: (signal) => this.send(signal),
      beforeAnswer: () => this.adoptRemoteTransceivers(),
    });
    this.pc.addEventListener('track', ({ transceiver, track }) => this.received(transceiver, track));
    this.pc.addEventListener('connectionstatechange', () => {
      const state = this.pc.connectionState;
      if (state === 'failed') this.pc.restartIce();
      this.emit({ kind: 'connection', id, state });
    });

    if (!this.polite) {
      for (const slot of SLOTS) {
        const kind = slot === 'audio' ? 'audio' : 'video';
        this.adopt(this.pc.addTransceiver(kind, { direction: this.direction(), streams: [this.streamFor(slot)] }), slot);
      }
      this.openFilesChannel();
    }
  }

  /** @private */
  openFilesChannel() {
    if (this.files) return;
    this.files = this.pc.createDataChannel(FILES_LABEL, { negotiated: true, id: FILES_CHANNEL_ID });
    this.emit({ kind: 'data_channel', id: this.id, channel: this.files });
  }

  /**
   * @param {Slot} slot
   * @param {MediaStreamTrack | null} track
   */
  async sendTrack(slot, track) {
    const transceiver = this.transceiver(slot);
    if (!transceiver || !this.adopted.has(transceiver) || this.closed) return;
    try {
      await transceiver.sender.replaceTrack(track);
    } catch (error) {
      console.warn(`huddle: replaceTrack(${slot}) for ${this.id} failed`, error);
    }
  }

  /**
   * @param {Signal} signal
   */
  handleSignal(signal) {
    this.negotiation.handleSignal(signal);
  }

  /** How loud this participant's microphone is right now, 0..1 (for the speaking highlight). */
  audioLevel() {
    const receiver = this.transceiver('audio')?.receiver;
    const [source] = receiver ? receiver.getSynchronizationSources() : [];
    return source?.audioLevel ?? 0;
  }

  close() {
    this.closed = true;
    this.negotiation.close();
    this.pc.close();
    for (const track of [...this.camera.getTracks(), ...this.screen.getTracks()]) track.stop();
  }

  /** @private */
  direction() {
    return this.mesh.options.receiveOnly ? 'recvonly' : 'sendrecv';
  }

  /**
   * The polite end's transceivers come from the remote offer as recvonly: make them send too,
   * before the answer is created so no second negotiation is needed.
   * @private
   */
  adoptRemoteTransceivers() {
    this.pc.getTransceivers().forEach((transceiver, index) => {
      const slot = SLOTS[index];
      if (!slot || this.adopted.has(transceiver) || transceiver.currentDirection === 'stopped') return;
      transceiver.direction = this.direction();
      transceiver.sender.setStreams(this.streamFor(slot));
      this.adopt(transceiver, slot);
    });
    this.openFilesChannel();
  }

  /**
   * @private
   * @param {RTCRtpTransceiver} transceiver
   * @param {Slot} slot
   */
  adopt(transceiver, slot) {
    this.adopted.add(transceiver);
    const track = this.mesh.tracks[slot];
    if (track) this.sendTrack(slot, track);
  }

  /**
   * @private
   * @param {RTCRtpTransceiver} transceiver
   * @param {MediaStreamTrack} track
   */
  received(transceiver, track) {
    const slot = SLOTS[this.pc.getTransceivers().indexOf(transceiver)];
    if (!slot) return;
    const stream = slot === 'screen' ? this.screen : this.camera;
    for (const old of stream.getTracks()) {
      if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    }
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    this.emit({ kind: 'tracks', id: this.id });
  }

  /**
   * @private
   * @param {Slot} slot
   */
  transceiver(slot) {
    return this.pc.getTransceivers()[SLOTS.indexOf(slot)];
  }

  /**
   * @private
   * @param {Slot} slot
   */
  streamFor(slot) {
    return slot === 'screen' ? this.mesh.screenStream : this.mesh.cameraStream;
  }

  /**
   * @private
   * @param {Signal} signal
   */
  send(signal) {
    if (!this.closed) this.emit({ kind: 'signal', to: this.id, signal });
  }

  /**
   * @private
   * @param {import('./mesh.js').MeshEvent} event
   */
  emit(event) {
    if (!this.closed) this.mesh.options.listener(event);
  }
}
