// What the room page needs from its media layer, whichever the room's `media_mode` is:
// `Mesh` (mesh.js, one RTCPeerConnection per remote participant) and `SfuConnection` (sfu.js, one
// RTCPeerConnection to the server's SFU) both implement `MediaConnection`, so room.js draws the
// same tiles from either. No DOM here.

/**
 * What a participant sends, each on its own transceiver: the microphone, the camera, the screen.
 * @typedef {'audio' | 'video' | 'screen'} Slot
 */
/** The transceiver order, the same at both ends of a peer connection and towards the SFU. */
export const SLOTS = /** @type {const} */ (['audio', 'video', 'screen']);

/**
 * What one remote participant sends us: camera + mic in one stream, the screen in another. The
 * streams stay the same objects for as long as the participant is in the call; tracks come and go.
 * @typedef {{ camera: MediaStream, screen: MediaStream }} RemoteMedia
 */

/** @typedef {{ report: RTCStatsReport, mids: Set<string> | null }} ReceivedStats */

/** @import { MediaMode } from './protocol.js' */

/**
 * @typedef {object} MediaConnection
 * @property {MediaMode} mode how it carries media: `Mesh` or `SfuConnection`
 * @property {(slot: Slot, track: MediaStreamTrack | null) => Promise<unknown>} setTrack sends `track`
 *   (or nothing) in `slot`, with replaceTrack: no renegotiation
 * @property {(id: string) => RemoteMedia} remote what `id` sends us, created on first use
 * @property {(id: string) => void} remove `id` left
 * @property {(id: string) => number} audioLevel how loud `id` is right now, 0..1 (0 if unknown)
 * @property {(id: string) => Promise<ReceivedStats | null>} receivedStats the stats of the connection
 *   that carries `id`'s media to us, and which of its transceivers are `id`'s (null: all of them)
 * @property {() => void} close
 */

export {};
