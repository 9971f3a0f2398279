// What we send, drawn where we see it: our own tile, the pre-join preview, the pressed state of
// the mic, camera and screen buttons, and device problems (under the preview; in the call also
// once in the notice bar).

import { play } from './tiles.js';
import { cleanDisplayName } from './names.js';
import { element, all, show } from './dom.js';
import { notify } from './notice.js';

/** @import { LocalMedia } from './media.js' */
/** @import { TileGrid } from './tiles.js' */

/**
 * @param {object} options
 * @param {LocalMedia} options.media
 * @param {TileGrid} options.grid
 * @param {HTMLInputElement} options.nameInput the pre-join name, whose initial the preview shows
 * @param {boolean} options.inCall
 */
export function drawOwnMedia({ media, grid, nameInput, inCall }) {
  const state = media.state;
  const camera = media.tracks.video;
  const preview = element('[data-preview]', HTMLElement);
  /** @type {[HTMLElement, HTMLVideoElement][]} */
  const views = [[grid.local.element, grid.local.video], [preview, element('[data-preview] video', HTMLVideoElement)]];
  for (const [tile, video] of views) {
    tile.dataset.audio = state.audio ? 'on' : 'off';
    tile.dataset.video = state.video ? 'on' : 'off';
    const current = video.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0] : undefined;
    if (current !== (camera ?? undefined)) {
      video.srcObject = camera ? new MediaStream([camera]) : null;
      if (camera) play(video);
    }
  }
  const avatar = preview.querySelector('.avatar');
  if (avatar) avatar.textContent = (cleanDisplayName(nameInput.value) ?? '?').slice(0, 1).toUpperCase();
  setPressed('[data-action="toggle-audio"], [data-prejoin-toggle="audio"]', state.audio, 'Microphone');
  setPressed('[data-action="toggle-video"], [data-prejoin-toggle="video"]', state.video, 'Camera');
  setPressed('[data-action="share-screen"]', state.screen, 'Screen sharing');
  const errors = Object.entries(media.errors).map(([what, message]) => `${label(what)}: ${message}`).join(' · ');
  const mediaError = element('[data-media-error]', HTMLElement);
  // In the call, a new device problem is said once in the notice bar.
  if (errors && errors !== mediaError.textContent && inCall) notify(errors);
  mediaError.textContent = errors;
  show(mediaError, errors.length > 0);
}

/** @param {string} what */
function label(what) {
  return what === 'audio' ? 'Microphone' : what === 'video' ? 'Camera' : 'Screen sharing';
}

/**
 * @param {string} selector
 * @param {boolean} on
 * @param {string} what
 */
function setPressed(selector, on, what) {
  for (const button of all(selector, HTMLButtonElement)) {
    button.setAttribute('aria-pressed', String(on));
    button.title = `${what} (${on ? 'on' : 'off'})`;
  }
}
