// Scheduled chat messages: the "schedule" control beside the chat input (a local date and time,
// sent as UTC milliseconds) and the room's pending list, soonest first, where one's own can be
// cancelled. The server posts them at their time, whether or not their author is still here.
//
// Stable hooks: [data-schedule-toggle] (shows the picker), [data-schedule-at] (datetime-local), [data-schedule-send], [data-scheduled-list],
// each pending message [data-scheduled-item="<id>"], its [data-scheduled-cancel] (own ones only).

/** @import { Scheduled, RoomAction } from './protocol.js' */
/** @import { ChatPane } from './chat.js' */

import { localTime } from './chat.js';

/** The picker starts this far ahead. */
const DEFAULT_LEAD_MS = 5 * 60_000;

/**
 * A datetime-local value ("2025-03-01T14:05" or with seconds) read in the browser's time zone.
 * @param {string} value
 * @returns {number | null} Unix milliseconds, UTC
 */
export function localInputToUtc(value) {
  // Without an offset, ECMAScript reads a date-time form as local time (valueAsNumber would be UTC).
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The datetime-local value for `ms` in the browser's time zone, to the minute.
 * @param {number} ms
 */
export function utcToLocalInput(ms) {
  const date = new Date(ms);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export class ScheduledList {
  /**
   * @param {object} options
   * @param {HTMLUListElement} options.list the pending messages
   * @param {HTMLInputElement} options.at the datetime-local picker
   * @param {HTMLButtonElement} options.send
   * @param {ChatPane} options.chat whose input holds the text
   * @param {(action: RoomAction) => void} options.act
   */
  constructor(options) {
    this.options = options;
    /** @type {Map<number, Scheduled>} */
    this.pending = new Map();
    options.send.addEventListener('click', () => this.schedule());
    options.at.addEventListener('focus', () => {
      if (!options.at.value) options.at.value = utcToLocalInput(Date.now() + DEFAULT_LEAD_MS);
    });
  }

  /** @param {Scheduled[]} scheduled the whole pending list (`scheduled_list`) */
  replace(scheduled) {
    this.pending = new Map(scheduled.map((item) => [item.id, item]));
    this.draw();
  }

  /** @param {Scheduled} scheduled */
  add(scheduled) {
    this.pending.set(scheduled.id, scheduled);
    this.draw();
  }

  /** @param {number} id posted or cancelled */
  remove(id) {
    this.pending.delete(id);
    this.draw();
  }

  /** @private */
  schedule() {
    const { at, chat, act } = this.options;
    const when = localInputToUtc(at.value);
    if (when === null || when <= Date.now()) {
      chat.showError('Pick a time in the future to schedule the message.');
      at.focus();
      return;
    }
    const text = chat.takeText();
    if (!text) {
      chat.showError('Write the message to schedule first.');
      return;
    }
    act({ type: 'schedule_message', text, at: when });
  }

  /** @private */
  draw() {
    const items = [...this.pending.values()].sort((a, b) => a.at - b.at);
    const { list } = this.options;
    list.replaceChildren(...items.map((item) => this.render(item)));
    list.hidden = items.length === 0;
  }

  /**
   * @private
   * @param {Scheduled} scheduled
   */
  render(scheduled) {
    const item = document.createElement('li');
    item.className = 'scheduled-item';
    item.dataset.scheduledItem = String(scheduled.id);
    const meta = document.createElement('div');
    meta.className = 'meta';
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = scheduled.author_name;
    const time = document.createElement('time');
    time.dateTime = new Date(scheduled.at).toISOString();
    time.textContent = `at ${localTime(scheduled.at)}`;
    time.title = new Date(scheduled.at).toLocaleString();
    meta.append(author, time);
    const text = document.createElement('p');
    text.className = 'text';
    text.textContent = scheduled.text;
    item.append(meta, text);
    if (scheduled.mine) {
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'ghost small';
      cancel.dataset.scheduledCancel = '';
      cancel.textContent = 'Cancel';
      cancel.addEventListener('click', () => this.options.act({ type: 'cancel_scheduled', id: scheduled.id }));
      meta.append(cancel);
    }
    return item;
  }
}
