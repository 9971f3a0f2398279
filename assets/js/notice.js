// The notice bar of the call: one short message at a time, maybe with a button (e.g. "Turn sound
// on"). Messages without a button go away by themselves.

import { element, show } from './dom.js';

/** A message without a button stays this long. */
const NOTICE_MS = 5_000;

/**
 * @param {string} text
 * @param {{ label: string, run: () => void }} [action]
 */
export function notify(text, action) {
  const notice = element('[data-notice]', HTMLElement);
  element('[data-notice-text]', HTMLElement).textContent = text;
  const button = element('[data-notice-action]', HTMLButtonElement);
  show(button, Boolean(action));
  if (action) {
    button.textContent = action.label;
    button.onclick = () => {
      action.run();
      show(notice, false);
    };
  }
  show(notice, true);
  if (!action) setTimeout(() => show(notice, false), NOTICE_MS);
}
