// Emoji reactions: a small picker from the toolbar; the server passes each one to everybody and
// it floats up over the sender's tile (tiles.js).
//
// Stable hooks: [data-action="react"] opens [data-reaction-picker], whose buttons are
// [data-emoji="<emoji>"].

/** @import { RoomAction } from './protocol.js' */

import { REACTIONS } from './protocol.js';

export class ReactionPicker {
  /**
   * @param {object} options
   * @param {HTMLButtonElement} options.toggle
   * @param {HTMLElement} options.picker
   * @param {(action: RoomAction) => void} options.act
   */
  constructor({ toggle, picker, act }) {
    picker.replaceChildren(...REACTIONS.map((emoji) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'ghost';
      button.dataset.emoji = emoji;
      button.textContent = emoji;
      button.addEventListener('click', () => {
        act({ type: 'react', emoji });
        picker.hidden = true;
        toggle.setAttribute('aria-expanded', 'false');
      });
      return button;
    }));
    toggle.addEventListener('click', () => {
      picker.hidden = !picker.hidden;
      toggle.setAttribute('aria-expanded', String(!picker.hidden));
    });
  }
}
