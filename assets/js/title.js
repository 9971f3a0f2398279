// The meeting's title in the call header, shown to everybody and kept by the server. Clicking it
// turns it into a field: Enter (or leaving the field) renames, Escape keeps the old title. Without
// a title the room's name shows, dimmed.
//
// Stable hooks: [data-room-title] (the title as shown; data-untitled while there is none),
// [data-title-input] (the field while renaming).

/** @import { RoomAction } from './protocol.js' */

export const MAX_TITLE_LENGTH = 120;

export class RoomTitle {
  /**
   * @param {object} options
   * @param {HTMLButtonElement} options.shown
   * @param {HTMLInputElement} options.input
   * @param {string} options.room shown while there is no title
   * @param {(action: RoomAction) => void} options.act
   */
  constructor(options) {
    this.options = options;
    /** @type {string | null} */
    this.title = null;
    const { shown, input } = options;
    input.maxLength = MAX_TITLE_LENGTH;
    shown.addEventListener('click', () => this.edit());
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') this.finish(true);
      if (event.key === 'Escape') this.finish(false);
    });
    input.addEventListener('blur', () => this.finish(true));
    this.set(null);
  }

  /** @param {string | null} title */
  set(title) {
    this.title = title;
    const { shown, room } = this.options;
    shown.textContent = title ?? room;
    shown.toggleAttribute('data-untitled', !title);
    shown.title = title ? `${title} (click to rename)` : 'Give this meeting a title';
    document.title = `${title ?? room} · huddle`;
  }

  /** @private */
  edit() {
    const { shown, input } = this.options;
    input.value = this.title ?? '';
    shown.hidden = true;
    input.hidden = false;
    input.focus();
    input.select();
  }

  /**
   * @private
   * @param {boolean} save
   */
  finish(save) {
    const { shown, input, act } = this.options;
    if (input.hidden) return;
    input.hidden = true;
    shown.hidden = false;
    const title = input.value.trim();
    if (save && title !== (this.title ?? '')) act({ type: 'set_title', title });
  }
}
