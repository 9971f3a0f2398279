// Names people type, checked the way the server checks them (crates/huddle/src/rooms/names.rs),
// so the UI can say what is wrong before a round trip.

export const MAX_ROOM_NAME = 64;
export const MAX_DISPLAY_NAME = 64;

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** @param {string} name */
export function isValidRoomName(name) {
  return ROOM_NAME.test(name);
}

/**
 * Trims, drops control and bidi-override characters, cuts to 64 characters; null if nothing is left.
 * @param {string} raw
 * @returns {string | null}
 */
export function cleanDisplayName(raw) {
  const visible = [...raw].filter((c) => !/\p{Cc}/u.test(c) && !isBidiControl(c)).join('');
  const name = [...visible.trim()].slice(0, MAX_DISPLAY_NAME).join('').trimEnd();
  return name.length > 0 ? name : null;
}

/** @param {string} c */
function isBidiControl(c) {
  const code = c.codePointAt(0) ?? 0;
  return (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)
    || code === 0x200e || code === 0x200f;
}

const ADJECTIVES = [
  'brave', 'calm', 'clever', 'bright', 'gentle', 'happy', 'jolly', 'kind', 'lucky', 'merry',
  'nimble', 'proud', 'quick', 'quiet', 'sunny', 'swift', 'witty', 'bold', 'cosy', 'eager',
];
const ANIMALS = [
  'otter', 'fox', 'panda', 'heron', 'lynx', 'badger', 'falcon', 'koala', 'marten', 'owl',
  'puffin', 'seal', 'tiger', 'whale', 'wren', 'yak', 'zebra', 'bison', 'crane', 'gecko',
];

/**
 * A readable, hard-to-guess-by-accident room name such as `brave-otter-42`.
 * @param {() => number} [random]
 */
export function randomRoomName(random = Math.random) {
  /** @param {string[]} list */
  const pick = (list) => list[Math.floor(random() * list.length)];
  const number = 10 + Math.floor(random() * 90);
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${number}`;
}
