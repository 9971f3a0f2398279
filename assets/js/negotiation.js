// Offer/answer for one RTCPeerConnection with the "perfect negotiation" pattern of the WebRTC spec,
// shared by the mesh (one per remote participant, polite or not by id) and the SFU connection
// (always the impolite side: the client wins glare, the SFU rolls back and offers again later).
// No DOM here. Signals go out through `send` and come in through `handleSignal`.

/** @import { Signal, IceCandidate } from './protocol.js' */

/**
 * The wire form of a local candidate.
 * @param {RTCIceCandidate} candidate
 * @returns {IceCandidate}
 */
export function candidateInit(candidate) {
  const { sdpMid, sdpMLineIndex, usernameFragment } = candidate;
  return { candidate: candidate.candidate, sdpMid, sdpMLineIndex, ...(usernameFragment ? { usernameFragment } : {}) };
}

/**
 * @typedef {object} NegotiationOptions
 * @property {boolean} polite the polite side yields when both offer at once
 * @property {string} label who is at the other end, for logs
 * @property {(signal: Signal) => void} send
 * @property {() => void} [beforeAnswer] runs after a remote offer is applied, before answering
 * @property {(sdp: string) => string} [prepareOffer] rewrites our offer's SDP before it is applied
 *   (only for the impolite side: a polite offer must survive an implicit rollback)
 */

export class Negotiation {
  /**
   * @param {RTCPeerConnection} pc
   * @param {NegotiationOptions} options
   */
  constructor(pc, options) {
    this.pc = pc;
    this.options = options;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.closed = false;
    /** Signals are handled one at a time, in order, so a candidate never overtakes its description. */
    this.queue = Promise.resolve();
    pc.addEventListener('negotiationneeded', () => this.negotiate());
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (!this.closed) options.send({ kind: 'candidate', candidate: candidate ? candidateInit(candidate) : null });
    });
  }

  /** @param {Signal} signal */
  handleSignal(signal) {
    this.queue = this.queue
      .then(() => this.apply(signal))
      .catch((error) => console.warn(`huddle: signal from ${this.options.label} failed`, error));
  }

  /** Our offer was refused: go back to stable so the next negotiation can start. */
  rollback() {
    this.queue = this.queue
      .then(async () => {
        if (!this.closed && this.pc.signalingState === 'have-local-offer') {
          await this.pc.setLocalDescription({ type: 'rollback' });
        }
      })
      .catch((error) => console.warn(`huddle: rollback with ${this.options.label} failed`, error));
  }

  close() {
    this.closed = true;
  }

  /** @private */
  async negotiate() {
    if (this.closed) return;
    const { prepareOffer } = this.options;
    try {
      this.makingOffer = true;
      if (prepareOffer) {
        const offer = await this.pc.createOffer();
        if (this.pc.signalingState !== 'stable' || this.closed) return;
        await this.pc.setLocalDescription({ type: 'offer', sdp: prepareOffer(offer.sdp ?? '') });
      } else {
        await this.pc.setLocalDescription();
      }
      this.sendDescription();
    } catch (error) {
      console.warn(`huddle: offer to ${this.options.label} failed`, error);
    } finally {
      this.makingOffer = false;
    }
  }

  /**
   * Perfect negotiation, as in the WebRTC spec's example.
   * @private
   * @param {Signal} signal
   */
  async apply(signal) {
    if (this.closed) return;
    const pc = this.pc;
    if (signal.kind === 'description') {
      const description = signal.description;
      const readyForOffer = !this.makingOffer
        && (pc.signalingState === 'stable' || this.settingRemoteAnswer);
      const collision = description.type === 'offer' && !readyForOffer;
      this.ignoreOffer = !this.options.polite && collision;
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === 'answer';
      try {
        await pc.setRemoteDescription(description);
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === 'offer') {
        this.options.beforeAnswer?.();
        await pc.setLocalDescription();
        this.sendDescription();
      }
    } else {
      try {
        // `null` marks the end of candidates; addIceCandidate() without argument says the same.
        await (signal.candidate ? pc.addIceCandidate(signal.candidate) : pc.addIceCandidate());
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  /** @private */
  sendDescription() {
    const description = this.pc.localDescription;
    if (!description || this.closed) return;
    const { type, sdp } = description;
    this.options.send({ kind: 'description', description: { type, sdp } });
  }
}
