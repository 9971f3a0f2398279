// The start page: make up a room name, or go to the one typed (a name or a pasted link).

import { isValidRoomName, randomRoomName } from './names.js';
import { element, show } from './dom.js';

/**
 * The room a typed text means: a bare name, or a link whose path is /r/<room>.
 * @param {string} text
 * @returns {string}
 */
export function roomFromInput(text) {
  const trimmed = text.trim();
  const path = /\/r\/([^/?#]+)/.exec(trimmed);
  if (path) {
    try {
      return decodeURIComponent(path[1]);
    } catch {
      return path[1];
    }
  }
  return trimmed;
}

/** @param {string} room */
function go(room) {
  location.assign(`/r/${encodeURIComponent(room)}`);
}

const input = element('[data-room-input]', HTMLInputElement);
const error = element('[data-room-error]', HTMLElement);

element('[data-new-room]', HTMLButtonElement).addEventListener('click', () => go(randomRoomName()));

element('[data-join-room-form]', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const room = roomFromInput(input.value);
  if (isValidRoomName(room)) {
    go(room);
    return;
  }
  error.textContent = room
    ? 'A room name is 1 to 64 letters, digits, "-" or "_".'
    : 'Type the name of the room, or paste its link.';
  show(error, true);
  input.focus();
});

input.addEventListener('input', () => show(error, false));
