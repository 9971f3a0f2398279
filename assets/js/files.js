// Files shared with the whole room over RTCDataChannels labelled "files" (ordered, reliable). No
// DOM here: the UI hands us channels and files and draws `Transfer`s from our events.
//
// In a mesh room there is one channel per peer connection, and a file goes out on each; in an sfu
// room there is one channel to the SFU, which forwards every message to the others' channels of the
// same label, in an envelope naming its sender (`openEnvelope`). On every channel a file is:
//   {"t":"file_offer","file":"<uuid>","name","size"}   (JSON text)
//   binary chunks: the file's 16 uuid bytes, then up to CHUNK_SIZE bytes of the file, in order
//   {"t":"file_end","file":"<uuid>"}  or, if the sender gives up,  {"t":"file_cancel","file":"<uuid>"}
// The sender keeps at most HIGH_WATER bytes queued per channel and resumes when the queue falls to
// LOW_WATER (`bufferedamountlow`), so a large file never fills the browser's buffers.
//
// Who sent a file is never what a message says, only what the transport knows: the peer at the
// other end of a mesh channel, or the sender the SFU stamps. A received file is a download only
// (an `application/octet-stream` blob: no type travels with it), so that a file cannot run as a
// page of huddle's origin.

export const FILES_LABEL = 'files';
export const CHUNK_SIZE = 16 * 1024;
const ID_BYTES = 16;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * One file on its way, in either direction. `bytes` is how much has gone out (queued bytes not
 * counted) or come in.
 * @typedef {object} Transfer
 * @property {string} id the file's uuid
 * @property {'in' | 'out'} direction
 * @property {string} name
 * @property {number} size
 * @property {string} from the sender's participant id
 * @property {number} bytes
 * @property {'active' | 'done' | 'cancelled' | 'failed'} state
 * @property {Blob} [blob] a received file, once complete
 */

/**
 * @typedef {{ t: 'file_offer', file: string, name: string, size: number }
 *         | { t: 'file_end', file: string }
 *         | { t: 'file_cancel', file: string }} FileControl
 */

/** @param {string} uuid @returns {Uint8Array} */
export function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, '');
  return Uint8Array.from({ length: ID_BYTES }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** @param {Uint8Array} bytes @returns {string} the uuid's 32 hex digits, no dashes */
function bytesKey(bytes) {
  return [...bytes.subarray(0, ID_BYTES)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} uuid */
const uuidKey = (uuid) => uuid.replace(/-/g, '').toLowerCase();

/** What a received file is served as: never a type a browser would render. */
export const RECEIVED_TYPE = 'application/octet-stream';

const SENDER_BYTES = 8;

/**
 * A message the SFU forwarded: the sender's participant id (8 bytes, big-endian, which is its
 * 16 hex digits), 1 if the message is text or 0 if binary, then the message. Null when malformed.
 * @param {ArrayBuffer} envelope
 * @returns {{ from: string, data: string | ArrayBuffer } | null}
 */
export function openEnvelope(envelope) {
  if (envelope.byteLength < SENDER_BYTES + 1) return null;
  const bytes = new Uint8Array(envelope);
  const from = [...bytes.subarray(0, SENDER_BYTES)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const message = envelope.slice(SENDER_BYTES + 1);
  const text = bytes[SENDER_BYTES] === 1;
  return { from, data: text ? new TextDecoder().decode(message) : message };
}

/**
 * Resolves when `channel` has room again, or is closing.
 * @param {RTCDataChannel} channel
 */
function drained(channel) {
  return new Promise((resolve) => {
    const done = () => {
      channel.removeEventListener('bufferedamountlow', done);
      channel.removeEventListener('close', done);
      resolve(undefined);
    };
    channel.addEventListener('bufferedamountlow', done);
    channel.addEventListener('close', done);
  });
}

export class FileShare {
  /**
   * @param {(transfer: Transfer) => void} onChange called whenever a transfer starts, advances or ends
   */
  constructor(onChange) {
    this.onChange = onChange;
    this.selfId = '';
    /** @type {Set<RTCDataChannel>} */
    this.channels = new Set();
    /** @type {Map<string, Transfer & { chunks?: ArrayBuffer[] }>} by uuid key */
    this.transfers = new Map();
  }

  /**
   * A "files" channel to send on and receive from, for as long as it is open.
   * @param {RTCDataChannel} channel
   * @param {string | null} peer the participant at the other end of a mesh channel; null for the
   *   SFU's channel, whose messages come in envelopes naming their senders
   */
  addChannel(channel, peer) {
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener('open', () => this.channels.add(channel));
    channel.addEventListener('close', () => this.channels.delete(channel));
    channel.addEventListener('message', (event) => {
      if (peer !== null) {
        this.receive(event.data, peer);
        return;
      }
      const opened = event.data instanceof ArrayBuffer ? openEnvelope(event.data) : null;
      if (opened) this.receive(opened.data, opened.from);
    });
    if (channel.readyState === 'open') this.channels.add(channel);
  }

  /**
   * Shares `file` with everyone reachable now.
   * @param {File} file
   * @returns {Transfer}
   */
  send(file) {
    const id = crypto.randomUUID();
    /** @type {Transfer} */
    const transfer = {
      id, direction: 'out', name: file.name, size: file.size, from: this.selfId, bytes: 0, state: 'active',
    };
    this.transfers.set(uuidKey(id), transfer);
    this.onChange(transfer);
    const channels = [...this.channels];
    /** @type {Map<RTCDataChannel, number>} bytes handed over, per channel */
    const sent = new Map(channels.map((channel) => [channel, 0]));
    const progress = (/** @type {RTCDataChannel} */ channel, /** @type {number} */ bytes) => {
      sent.set(channel, bytes);
      // The slowest receiver is how far the file has got.
      transfer.bytes = Math.max(0, Math.min(...sent.values()));
      this.onChange(transfer);
    };
    Promise.all(channels.map((channel) => this.sendOn(channel, file, transfer, progress))).then((finished) => {
      if (transfer.state !== 'active') return;
      transfer.state = finished.every(Boolean) && channels.length > 0 ? 'done' : 'failed';
      transfer.bytes = transfer.state === 'done' ? file.size : transfer.bytes;
      this.onChange(transfer);
    });
    return transfer;
  }

  /**
   * Stops a transfer: ours is cancelled for everyone, one we receive is dropped here only.
   * @param {string} id
   */
  cancel(id) {
    const transfer = this.transfers.get(uuidKey(id));
    if (!transfer || transfer.state !== 'active') return;
    transfer.state = 'cancelled';
    if ('chunks' in transfer) delete transfer.chunks;
    if (transfer.direction === 'out') this.broadcast({ t: 'file_cancel', file: transfer.id });
    this.onChange(transfer);
  }

  /**
   * Sends the whole file on one channel; false if the channel closed first.
   * @private
   * @param {RTCDataChannel} channel
   * @param {File} file
   * @param {Transfer} transfer
   * @param {(channel: RTCDataChannel, bytes: number) => void} progress
   */
  async sendOn(channel, file, transfer, progress) {
    const open = () => channel.readyState === 'open';
    const prefix = uuidBytes(transfer.id);
    /** @type {FileControl} */
    const offer = { t: 'file_offer', file: transfer.id, name: file.name, size: file.size };
    channel.send(JSON.stringify(offer));
    for (let offset = 0; offset < file.size; offset += CHUNK_SIZE) {
      if (channel.bufferedAmount > HIGH_WATER) await drained(channel);
      if (transfer.state !== 'active') return false;
      if (!open()) return false;
      const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK_SIZE).arrayBuffer());
      const frame = new Uint8Array(ID_BYTES + chunk.length);
      frame.set(prefix);
      frame.set(chunk, ID_BYTES);
      channel.send(frame);
      progress(channel, offset + chunk.length - channel.bufferedAmount);
    }
    if (!open()) return false;
    channel.send(JSON.stringify({ t: 'file_end', file: transfer.id }));
    while (open() && channel.bufferedAmount > 0 && transfer.state === 'active') {
      progress(channel, file.size - channel.bufferedAmount);
      await Promise.race([drained(channel), new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    return open();
  }

  /**
   * @private
   * @param {FileControl} control
   */
  broadcast(control) {
    for (const channel of this.channels) channel.send(JSON.stringify(control));
  }

  /**
   * @private
   * @param {string | ArrayBuffer} data
   * @param {string} from who sent it, as the transport knows
   */
  receive(data, from) {
    if (typeof data !== 'string') {
      this.receiveChunk(data, from);
      return;
    }
    /** @type {FileControl} */
    let control;
    try {
      control = JSON.parse(data);
    } catch {
      return;
    }
    const found = this.transfers.get(uuidKey(String(control.file)));
    if (control.t === 'file_offer' && !found) {
      this.transfers.set(uuidKey(control.file), {
        id: control.file, direction: 'in', name: String(control.name), size: Number(control.size),
        from, bytes: 0, state: 'active', chunks: [],
      });
      this.onChange(/** @type {Transfer} */ (this.transfers.get(uuidKey(control.file))));
      return;
    }
    // Only the sender of a file may end or cancel it.
    const known = found?.from === from ? found : undefined;
    if (control.t === 'file_end' && known?.state === 'active' && known.chunks) {
      this.complete(known);
    } else if (control.t === 'file_cancel' && known?.state === 'active') {
      known.state = 'cancelled';
      delete known.chunks;
      this.onChange(known);
    }
  }

  /**
   * @private
   * @param {ArrayBuffer} data
   * @param {string} from
   */
  receiveChunk(data, from) {
    if (data.byteLength <= ID_BYTES) return;
    const transfer = this.transfers.get(bytesKey(new Uint8Array(data, 0, ID_BYTES)));
    // A chunk of a file offered before we arrived, of one we cancelled, or from anyone but the
    // file's sender (who could only have taken its id from the offer).
    if (!transfer?.chunks || transfer.state !== 'active' || transfer.from !== from) return;
    transfer.chunks.push(data.slice(ID_BYTES));
    transfer.bytes += data.byteLength - ID_BYTES;
    this.onChange(transfer);
  }

  /**
   * @private
   * @param {Transfer & { chunks?: ArrayBuffer[] }} transfer
   */
  complete(transfer) {
    // Anything else means chunks were lost on the way (e.g. a relay dropped them).
    if (transfer.bytes === transfer.size) {
      transfer.blob = new Blob(transfer.chunks, { type: RECEIVED_TYPE });
      transfer.state = 'done';
    } else {
      transfer.state = 'failed';
    }
    delete transfer.chunks;
    this.onChange(transfer);
  }
}
