// Local media: camera, microphone, screen, and the devices to choose them from. No DOM here.
// A change of what we send is reported as a `MediaEvent`; the room hands `track` events to the
// mesh, which swaps the track on every peer's sender with `replaceTrack` (no renegotiation):
// - camera off stops the camera track and sends `null`, so remote frames stop; camera on is a new
//   track from getUserMedia;
// - mic off only disables the track (`enabled = false`): silence, and no device re-open on unmute;
// - switching a device is a new track for the same slot.

/** @import { MediaState } from './protocol.js' */
/** @import { Slot } from './media-connection.js' */

/** @typedef {'videoinput' | 'audioinput' | 'audiooutput'} DeviceKind */
/** @typedef {'default' | 'low'} Quality */

/**
 * @typedef {{ kind: 'track', slot: Slot, track: MediaStreamTrack | null }
 *         | { kind: 'state' }} MediaEvent
 */

/**
 * The camera we ask for. By default 720p, the size the SFU's simulcast is built around: Chromium
 * sends all three VP8 layers (1280x720, 640x360, 320x180) only from about 960x540 up. From a
 * 640x360 camera it sent 160x90 and 320x180 and never the full size, so a large tile got 320x180
 * (e2e/simulcast.test.js shows the three). `low` is one small layer for weak machines (and the
 * e2e suite).
 * @param {Quality} quality
 * @returns {MediaTrackConstraints}
 */
export function videoConstraints(quality) {
  return quality === 'low'
    ? { width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 15 } }
    : { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
}

/** @returns {MediaTrackConstraints} */
function audioConstraints() {
  return { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
}

/** Whether this browser can pick the speaker of a media element. */
export function canChooseSpeaker() {
  return 'setSinkId' in HTMLMediaElement.prototype;
}

/** Whether this browser can share a screen. */
export function canShareScreen() {
  return Boolean(navigator.mediaDevices && 'getDisplayMedia' in navigator.mediaDevices);
}

/**
 * Routes a media element's sound to the speaker `deviceId` ('' = default), where supported.
 * @param {HTMLMediaElement} element
 * @param {string} deviceId
 */
export async function setSpeaker(element, deviceId) {
  // '' is the default output, which every element starts with.
  if (!canChooseSpeaker() || (!deviceId && !('sinkId' in element && element.sinkId))) return;
  try {
    await /** @type {HTMLMediaElement & { setSinkId(id: string): Promise<void> }} */ (element).setSinkId(deviceId);
  } catch (error) {
    console.warn('huddle: setSinkId failed', error);
  }
}

/**
 * The devices of each kind; labels are empty until the page has been granted a device.
 * @returns {Promise<Record<DeviceKind, MediaDeviceInfo[]>>}
 */
export async function listDevices() {
  /** @type {Record<DeviceKind, MediaDeviceInfo[]>} */
  const devices = { videoinput: [], audioinput: [], audiooutput: [] };
  if (!navigator.mediaDevices?.enumerateDevices) return devices;
  for (const device of await navigator.mediaDevices.enumerateDevices()) {
    if (device.deviceId) devices[device.kind].push(device);
  }
  return devices;
}

/** What the local participant captures and whether it is on. */
export class LocalMedia {
  /**
   * @param {object} options
   * @param {Quality} options.quality
   * @param {Partial<Record<DeviceKind, string>>} options.preferred device ids remembered from last time
   * @param {(event: MediaEvent) => void | Promise<unknown>} options.listener a `track` event's
   *   promise is awaited before the old track is stopped, so senders never hold a stopped track
   */
  constructor({ quality, preferred, listener }) {
    this.quality = quality;
    /** @type {Record<DeviceKind, string>} chosen device ids, '' meaning the default */
    this.devices = { videoinput: '', audioinput: '', audiooutput: '', ...preferred };
    this.listener = listener;
    /** @type {Record<Slot, MediaStreamTrack | null>} */
    this.tracks = { audio: null, video: null, screen: null };
    this.micOn = false;
    /** @type {Partial<Record<'audio' | 'video' | 'screen', string>>} the last failure of each, for the UI */
    this.errors = {};
  }

  /** @returns {MediaState} */
  get state() {
    return {
      audio: Boolean(this.tracks.audio) && this.micOn,
      video: Boolean(this.tracks.video),
      screen: Boolean(this.tracks.screen),
    };
  }

  /**
   * Opens camera and/or microphone. Either may fail (no device, permission denied) without the
   * other failing: the call works with whatever is available.
   * @param {{ audio: boolean, video: boolean }} wanted
   */
  async start(wanted) {
    const audio = wanted.audio ? this.audioRequest('ideal') : false;
    const video = wanted.video ? this.videoRequest('ideal') : false;
    if (!audio && !video) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
      const [mic] = stream.getAudioTracks();
      const [camera] = stream.getVideoTracks();
      if (mic) this.setMicTrack(mic, true);
      if (camera) this.setTrack('video', camera);
    } catch (error) {
      if (audio && video) {
        // One of them may be the problem: try them alone.
        await this.start({ audio: true, video: false });
        await this.start({ audio: false, video: true });
      } else {
        this.errors[audio ? 'audio' : 'video'] = describe(error);
      }
    }
  }

  /** @param {boolean} on */
  setMic(on) {
    if (!this.tracks.audio) {
      if (on) this.start({ audio: true, video: false });
      return;
    }
    this.micOn = on;
    this.tracks.audio.enabled = on;
    this.listener({ kind: 'state' });
  }

  /** @param {boolean} on */
  async setCamera(on) {
    if (on === Boolean(this.tracks.video)) return;
    if (!on) {
      this.setTrack('video', null);
      return;
    }
    await this.start({ audio: false, video: true });
  }

  /**
   * Switches to another camera, microphone or speaker. Inputs take effect at once if in use.
   * @param {DeviceKind} kind
   * @param {string} deviceId
   */
  async useDevice(kind, deviceId) {
    this.devices[kind] = deviceId;
    if (kind === 'audiooutput') return;
    const slot = kind === 'videoinput' ? 'video' : 'audio';
    if (!this.tracks[slot]) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia(
        slot === 'video' ? { video: this.videoRequest('exact') } : { audio: this.audioRequest('exact') },
      );
      const [track] = stream.getTracks();
      if (slot === 'audio') this.setMicTrack(track, this.micOn);
      else this.setTrack('video', track);
      delete this.errors[slot];
    } catch (error) {
      this.errors[slot] = describe(error);
      this.listener({ kind: 'state' });
    }
  }

  /** Asks the browser for a screen, window or tab to share, beside the camera. */
  async startScreen() {
    if (this.tracks.screen) return;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 15 } },
        audio: false,
      });
      const [track] = stream.getVideoTracks();
      if (!track) return;
      track.contentHint = 'detail';
      // The browser's own "Stop sharing" button ends the track.
      track.addEventListener('ended', () => {
        if (this.tracks.screen === track) this.setTrack('screen', null);
      });
      delete this.errors.screen;
      this.setTrack('screen', track);
    } catch (error) {
      // Cancelling the browser's picker is a choice, not a failure.
      if (!(error instanceof DOMException && error.name === 'NotAllowedError')) {
        this.errors.screen = describe(error);
        this.listener({ kind: 'state' });
      }
    }
  }

  stopScreen() {
    this.setTrack('screen', null);
  }

  /** Releases every device. */
  stop() {
    for (const slot of /** @type {Slot[]} */ (['audio', 'video', 'screen'])) {
      this.tracks[slot]?.stop();
      this.tracks[slot] = null;
    }
  }

  /**
   * @private
   * @param {MediaStreamTrack} track
   * @param {boolean} on
   */
  setMicTrack(track, on) {
    this.micOn = on;
    track.enabled = on;
    this.setTrack('audio', track);
  }

  /**
   * Replaces what `slot` captures, stopping the old track, and tells the listener.
   * @private
   * @param {Slot} slot
   * @param {MediaStreamTrack | null} track
   */
  setTrack(slot, track) {
    const old = this.tracks[slot];
    if (old === track) return;
    this.tracks[slot] = track;
    if (slot !== 'screen' && track) this.rememberDevice(slot, track);
    if (slot !== 'screen') delete this.errors[slot];
    const swapped = this.listener({ kind: 'track', slot, track });
    this.listener({ kind: 'state' });
    Promise.resolve(swapped).finally(() => old?.stop());
  }

  /**
   * @private
   * @param {'audio' | 'video'} slot
   * @param {MediaStreamTrack} track
   */
  rememberDevice(slot, track) {
    const deviceId = track.getSettings().deviceId;
    if (deviceId) this.devices[slot === 'audio' ? 'audioinput' : 'videoinput'] = deviceId;
  }

  /**
   * @private
   * @param {'ideal' | 'exact'} strength exact when the user picked the device just now
   * @returns {MediaTrackConstraints}
   */
  videoRequest(strength) {
    const id = this.devices.videoinput;
    return { ...videoConstraints(this.quality), ...(id ? { deviceId: { [strength]: id } } : {}) };
  }

  /**
   * @private
   * @param {'ideal' | 'exact'} strength
   * @returns {MediaTrackConstraints}
   */
  audioRequest(strength) {
    const id = this.devices.audioinput;
    return { ...audioConstraints(), ...(id ? { deviceId: { [strength]: id } } : {}) };
  }
}

/**
 * A sentence for a getUserMedia / getDisplayMedia failure.
 * @param {unknown} error
 */
function describe(error) {
  if (!(error instanceof DOMException)) return String(error);
  switch (error.name) {
    case 'NotAllowedError': return 'Permission denied';
    case 'NotFoundError': return 'No device found';
    case 'NotReadableError': return 'The device is in use by another application';
    case 'OverconstrainedError': return 'The chosen device is not available';
    default: return error.message || error.name;
  }
}
