// The device pickers: which camera, microphone and speaker the call uses. One set of pickers,
// moved by room.js between the pre-join form and the call's settings; a choice is remembered
// (saved.js) for the next visit.
//
// Stable hooks: select[data-device="videoinput|audioinput|audiooutput"] (one of each in the page).

import { listDevices, canChooseSpeaker, setSpeaker } from './media.js';
import { element, show } from './dom.js';
import { saved } from './saved.js';

/** @import { LocalMedia, DeviceKind } from './media.js' */

export const DEVICE_KINDS = /** @type {DeviceKind[]} */ (['videoinput', 'audioinput', 'audiooutput']);

const NOUNS = { videoinput: 'Camera', audioinput: 'Microphone', audiooutput: 'Speaker' };

/** The devices chosen on an earlier visit, to start with. */
export function savedDevices() {
  return Object.fromEntries(DEVICE_KINDS.map((kind) => [kind, saved.get(kind)]));
}

export class DevicePickers {
  /**
   * @param {object} options
   * @param {LocalMedia} options.media
   * @param {() => HTMLVideoElement[]} options.speakers the videos whose sound the speaker choice plays
   * @param {() => void} options.changed a device was chosen: redraw what shows it
   */
  constructor(options) {
    this.options = options;
    for (const kind of DEVICE_KINDS) {
      const select = picker(kind);
      select.addEventListener('change', () => this.choose(kind, select.value));
    }
    navigator.mediaDevices?.addEventListener('devicechange', () => this.refresh());
  }

  /** Fills the pickers; labels appear once a device has been granted. */
  async refresh() {
    const devices = await listDevices();
    for (const kind of DEVICE_KINDS) {
      const select = picker(kind);
      const options = devices[kind].map((device, index) => {
        const option = document.createElement('option');
        option.value = device.deviceId;
        option.textContent = device.label || `${NOUNS[kind]} ${index + 1}`;
        return option;
      });
      if (options.length === 0) {
        const none = document.createElement('option');
        none.value = '';
        none.textContent = kind === 'audiooutput' ? 'Default' : `No ${NOUNS[kind].toLowerCase()} found`;
        options.push(none);
      }
      select.replaceChildren(...options);
      const chosen = this.current(kind);
      if (options.some((option) => option.value === chosen)) select.value = chosen;
      select.disabled = devices[kind].length === 0;
    }
    show(element('[data-speaker-picker]', HTMLElement), canChooseSpeaker());
  }

  /**
   * The device in use, or the one chosen for when it is used.
   * @private
   * @param {DeviceKind} kind
   */
  current(kind) {
    const { media } = this.options;
    const track = kind === 'videoinput' ? media.tracks.video : kind === 'audioinput' ? media.tracks.audio : null;
    return track?.getSettings().deviceId ?? media.devices[kind];
  }

  /**
   * @private
   * @param {DeviceKind} kind
   * @param {string} deviceId
   */
  async choose(kind, deviceId) {
    saved.set(kind, deviceId);
    await this.options.media.useDevice(kind, deviceId);
    if (kind === 'audiooutput') {
      for (const video of this.options.speakers()) setSpeaker(video, deviceId);
    }
    this.options.changed();
    await this.refresh();
  }
}

/** @param {DeviceKind} kind */
function picker(kind) {
  return element(`select[data-device="${kind}"]`, HTMLSelectElement);
}
