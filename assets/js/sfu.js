// The connection to the room's SFU (rooms whose `joined.settings.media_mode` is "sfu"): ONE
// RTCPeerConnection for the whole call, whatever the number of participants. No DOM here: the UI
// gets each participant's incoming streams through `SfuEvent`s, as it does from the mesh.
//
// What we publish sits in a fixed order that the server relies on (it maps our mids to sources):
//   mid "0": microphone audio, sendonly (Opus with in-band FEC and DTX)
//   mid "1": camera video, sendonly, simulcast rids q/h/f declared lowest first (one layer with
//            ?quality=low, whose 320x180 leaves nothing worth scaling down)
//   mid "2": screen-share video, sendonly, one layer
//   then a data channel: ours is "files" (files.js), which the SFU forwards to the others'.
// We offer first, right after `joined`. The SFU then offers to add and remove the others' tracks,
// one m-line each; `sfu_track` says which participant and source each of those mids carries. If
// both offer at once we win (we are the impolite side) and the SFU offers again later.
// Turning camera, mic or screen on and off is `replaceTrack` on our senders, as in the mesh.

/** @import { Signal, IceServer } from './protocol.js' */
/** @import { Slot } from './media-connection.js' */
/** @import { Quality } from './media.js' */
/** @import { MediaConnection, RemoteMedia } from './media-connection.js' */

import { SLOTS } from './media-connection.js';
import { Negotiation } from './negotiation.js';
import { FILES_LABEL } from './files.js';

/**
 * @typedef {{ kind: 'sfu_signal', signal: Signal }
 *         | { kind: 'tracks', id: string }
 *         | { kind: 'data_channel', channel: RTCDataChannel }
 *         | { kind: 'connection', state: RTCPeerConnectionState }} SfuEvent
 */

/**
 * @typedef {object} SfuOptions
 * @property {IceServer[]} iceServers
 * @property {RTCIceTransportPolicy} [iceTransportPolicy]
 * @property {Quality} quality 'low' publishes one camera layer instead of three
 * @property {(event: SfuEvent) => void} listener
 */

/** How long the connection to the SFU may stay 'disconnected' before we restart ICE. */
const ICE_RESTART_AFTER_MS = 2_000;
/**
 * How long a connection may stay 'connecting' before we restart ICE: checks sent while the path
 * was down are not retried for long, and the browser would only give up (`failed`) after ~30 s.
 */
const CONNECT_RESTART_AFTER_MS = 6_000;

/** Camera simulcast layers, lowest first as the SFU expects. */
export const SIMULCAST_LAYERS = /** @type {const} */ ([
  { rid: 'q', scaleResolutionDownBy: 4 },
  { rid: 'h', scaleResolutionDownBy: 2 },
  { rid: 'f', scaleResolutionDownBy: 1 },
]);

/**
 * Our offer's SDP with `useinbandfec=1;usedtx=1` on every Opus format: loss is repaired without
 * retransmission and silence costs next to nothing, which matters when one server fans out many mics.
 * @param {string} sdp
 */
export function withOpusOptions(sdp) {
  const opus = new Set([...sdp.matchAll(/^a=rtpmap:(\d+) opus\/48000/gim)].map((match) => match[1]));
  return sdp.replace(/^a=fmtp:(\d+) (.*)$/gm, (/** @type {string} */ line, /** @type {string} */ payloadType, /** @type {string} */ params) => {
    if (!opus.has(payloadType)) return line;
    const trimmed = params.replace(/\r$/, '');
    const eol = params.endsWith('\r') ? '\r' : '';
    const set = trimmed.split(';').filter(Boolean);
    for (const wanted of ['useinbandfec=1', 'usedtx=1']) {
      const key = wanted.split('=')[0];
      const at = set.findIndex((param) => param.split('=')[0] === key);
      if (at >= 0) set[at] = wanted;
      else set.push(wanted);
    }
    return `a=fmtp:${payloadType} ${set.join(';')}${eol}`;
  });
}

/** @implements {MediaConnection} */
export class SfuConnection {
  /** @param {SfuOptions} options */
  constructor(options) {
    this.options = options;
    this.mode = /** @type {const} */ ('sfu');
    this.closed = false;
    /** @type {Record<Slot, MediaStreamTrack | null>} */
    this.tracks = { audio: null, video: null, screen: null };
    /** @type {Map<string, RemoteMedia>} by participant id */
    this.remotes = new Map();
    /** @type {Map<string, { participant: string, source: Slot }>} what each received mid carries */
    this.mids = new Map();

    const { iceServers, iceTransportPolicy } = options;
    this.pc = new RTCPeerConnection({
      iceServers: iceServers.map(({ urls, username, credential }) => ({ urls, username, credential })),
      iceTransportPolicy: iceTransportPolicy ?? 'all',
      bundlePolicy: 'max-bundle',
    });
    this.negotiation = new Negotiation(this.pc, {
      polite: false,
      label: 'the SFU',
      send: (signal) => this.emit({ kind: 'sfu_signal', signal }),
      prepareOffer: withOpusOptions,
    });
    this.pc.addEventListener('track', ({ transceiver }) => {
      if (transceiver.mid !== null) this.bind(transceiver.mid);
    });
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.iceRestartTimer = undefined;
    this.pc.addEventListener('connectionstatechange', () => {
      const state = this.pc.connectionState;
      this.restartIceIfLost(state);
      this.emit({ kind: 'connection', state });
    });

    // The msids the SFU sees: camera and mic share one stream, the screen has its own.
    const camera = new MediaStream();
    const screen = new MediaStream();
    const layers = options.quality === 'low' ? [{}] : SIMULCAST_LAYERS.map((layer) => ({ ...layer }));
    /** @type {Record<Slot, RTCRtpTransceiver>} */
    this.senders = {
      audio: this.pc.addTransceiver('audio', { direction: 'sendonly', streams: [camera] }),
      video: this.pc.addTransceiver('video', { direction: 'sendonly', streams: [camera], sendEncodings: layers }),
      screen: this.pc.addTransceiver('video', { direction: 'sendonly', streams: [screen] }),
    };
    this.files = this.pc.createDataChannel(FILES_LABEL);
    // Told once the constructor has returned, so that the listener may already refer to us.
    queueMicrotask(() => this.emit({ kind: 'data_channel', channel: this.files }));
  }

  /**
   * Sends `track` (or nothing) in `slot`.
   * @param {Slot} slot
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(slot, track) {
    this.tracks[slot] = track;
    if (this.closed) return;
    try {
      await this.senders[slot].sender.replaceTrack(track);
    } catch (error) {
      console.warn(`huddle: replaceTrack(${slot}) to the SFU failed`, error);
    }
  }

  /** @param {string} id */
  remote(id) {
    let remote = this.remotes.get(id);
    if (!remote) {
      remote = { camera: new MediaStream(), screen: new MediaStream() };
      this.remotes.set(id, remote);
    }
    return remote;
  }

  /** @param {string} id */
  remove(id) {
    this.remotes.delete(id);
    for (const [mid, source] of this.mids) {
      if (source.participant === id) this.mids.delete(mid);
    }
  }

  /**
   * The one connection carries everyone: `id`'s part of it is the mids `sfu_track` gave them. The
   * round trip is to the SFU, the loss and jitter are of `id`'s streams.
   * @param {string} id
   */
  async receivedStats(id) {
    if (this.closed) return null;
    const mids = new Set([...this.mids].filter(([, source]) => source.participant === id).map(([mid]) => mid));
    return { report: await this.pc.getStats(), mids };
  }

  /** The SFU says who is loudest (`active_speaker`); we do not measure levels ourselves. */
  audioLevel() {
    return 0;
  }

  /** @param {Signal} signal the SFU's side (`sfu_signal`) */
  handleSignal(signal) {
    this.negotiation.handleSignal(signal);
  }

  /**
   * `sfu_track`: the transceiver `mid` carries `participant`'s `source`.
   * @param {string} participant
   * @param {Slot} source
   * @param {string} mid
   */
  mapTrack(participant, source, mid) {
    if (!SLOTS.includes(source)) return;
    this.mids.set(mid, { participant, source });
    this.bind(mid);
  }

  /** The SFU could not take our offer (`sfu_rejected`): back to stable, ready for the next one. */
  rejected() {
    this.negotiation.rollback();
  }

  /**
   * A network change (or an outage) breaks the path to the SFU: restart ICE, which offers new
   * credentials through `sfu_signal` (negotiationneeded), and keeps everything else of the
   * session. 'failed' restarts at once; 'disconnected' often heals by itself (a few lost
   * checks), so it restarts only if it lasts ICE_RESTART_AFTER_MS; a first connection that began
   * during an outage (after `sfu_ended`) restarts if it is not up after CONNECT_RESTART_AFTER_MS.
   * @private
   * @param {RTCPeerConnectionState} state
   */
  restartIceIfLost(state) {
    clearTimeout(this.iceRestartTimer);
    if (state === 'failed') this.pc.restartIce();
    const after = state === 'disconnected' ? ICE_RESTART_AFTER_MS : state === 'connecting' ? CONNECT_RESTART_AFTER_MS : null;
    if (after === null) return;
    this.iceRestartTimer = setTimeout(() => {
      if (!this.closed && this.pc.connectionState === state) this.pc.restartIce();
    }, after);
  }

  /**
   * Our place in the SFU is gone (`sfu_ended`): no more offers or ICE restarts from this
   * connection, which the server would refuse; its tiles keep their last frames until a new
   * connection replaces it.
   */
  detach() {
    clearTimeout(this.iceRestartTimer);
    this.negotiation.close();
  }

  close() {
    clearTimeout(this.iceRestartTimer);
    this.closed = true;
    this.negotiation.close();
    this.pc.close();
    this.remotes.clear();
    this.mids.clear();
  }

  /**
   * Puts the track received on `mid` into its participant's stream, once both the transceiver
   * (from the SFU's offer) and its meaning (from `sfu_track`) are known, in whichever order.
   * @private
   * @param {string} mid
   */
  bind(mid) {
    const source = this.mids.get(mid);
    if (!source || this.closed) return;
    const transceiver = this.pc.getTransceivers().find((t) => t.mid === mid && t.currentDirection !== 'stopped');
    if (!transceiver) return;
    const track = transceiver.receiver.track;
    const remote = this.remote(source.participant);
    const stream = source.source === 'screen' ? remote.screen : remote.camera;
    for (const old of stream.getTracks()) {
      if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    }
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    this.emit({ kind: 'tracks', id: source.participant });
  }

  /**
   * @private
   * @param {SfuEvent} event
   */
  emit(event) {
    if (!this.closed) this.options.listener(event);
  }
}
