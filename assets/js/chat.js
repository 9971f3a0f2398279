// The chat pane: the room's messages (history after join, older pages on scrolling up, new ones
// live), the input (Enter sends, Shift+Enter is a new line) and the unread count for the toolbar.
// Messages are text only: everything goes through textContent, and only http(s) URLs become links.
//
// Stable hooks: [data-chat-input], each message [data-chat-message][data-kind="user|scheduled|bot"]
// (plus [data-late] on a scheduled message posted after its time), [data-chat-error].

/** @import { ChatMessage, RoomAction } from './protocol.js' */

/** The server's limit, checked here too so that a long paste is refused before the round trip. */
export const MAX_CHAT_LENGTH = 4000;
/** Older history is asked for when the list is scrolled this close to its top (px). */
const LOAD_MORE_MARGIN = 40;
/** A message within this distance of the bottom counts as "reading the latest" (px). */
const AT_BOTTOM_MARGIN = 60;

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
/** Punctuation that ends a sentence rather than a URL. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

/**
 * Appends `text` to `parent` as text nodes, with http(s) URLs as links that open in a new tab
 * without giving it a handle on this page.
 * @param {HTMLElement} parent
 * @param {string} text
 */
export function appendLinkified(parent, text) {
  let rest = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const raw = match[0].replace(TRAILING_PUNCTUATION, '');
    const start = match.index ?? 0;
    const href = safeHref(raw);
    if (!href) continue;
    parent.append(text.slice(rest, start));
    const link = document.createElement('a');
    link.href = href;
    link.textContent = raw;
    link.rel = 'noopener noreferrer';
    link.target = '_blank';
    parent.append(link);
    rest = start + raw.length;
  }
  parent.append(text.slice(rest));
}

/** @param {string} raw */
function safeHref(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * A time shown in the reader's time zone: the hour alone today, with the date otherwise.
 * @param {number} ms Unix milliseconds, UTC
 */
export function localTime(ms) {
  const date = new Date(ms);
  const today = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return today ? time : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

export class ChatPane {
  /**
   * @param {object} options
   * @param {HTMLOListElement} options.list
   * @param {HTMLFormElement} options.form
   * @param {HTMLTextAreaElement} options.input
   * @param {HTMLElement} options.error
   * @param {(action: RoomAction) => void} options.act
   * @param {() => boolean} options.isRead whether the pane is on screen (else new messages are unread)
   * @param {(count: number) => void} options.onUnread
   */
  constructor(options) {
    this.options = options;
    /** @type {Map<number, HTMLLIElement>} */
    this.shown = new Map();
    this.hasMore = false;
    /** The first `chat_history` after a join replaces the list; later ones are older pages. */
    this.awaitingFirstPage = true;
    this.loadingOlder = false;
    this.unread = 0;
    const { list, form, input } = options;
    list.addEventListener('scroll', () => {
      if (list.scrollTop < LOAD_MORE_MARGIN) this.loadOlder();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    input.addEventListener('input', () => this.showError(''));
  }

  /** A (re-)join: the history that follows replaces what is shown. */
  reset() {
    this.awaitingFirstPage = true;
    this.loadingOlder = false;
  }

  /**
   * `chat_history`: the latest messages after a join, or an older page we asked for.
   * @param {ChatMessage[]} messages oldest first
   * @param {boolean} hasMore
   */
  showHistory(messages, hasMore) {
    const { list } = this.options;
    this.hasMore = hasMore;
    if (this.awaitingFirstPage) {
      this.awaitingFirstPage = false;
      this.shown.clear();
      list.replaceChildren(...messages.map((message) => this.render(message)));
      list.scrollTop = list.scrollHeight;
      return;
    }
    this.loadingOlder = false;
    // Keep what the reader looks at in place while older messages appear above it.
    const fromBottom = list.scrollHeight - list.scrollTop;
    list.prepend(...messages.filter((message) => !this.shown.has(message.id)).map((message) => this.render(message)));
    list.scrollTop = list.scrollHeight - fromBottom;
  }

  /** @param {ChatMessage} message a new message, live */
  add(message) {
    if (this.shown.has(message.id)) return;
    const { list } = this.options;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_MARGIN;
    list.append(this.render(message));
    if (atBottom || message.mine) list.scrollTop = list.scrollHeight;
    if (!message.mine && !this.options.isRead()) this.setUnread(this.unread + 1);
  }

  /** The pane came on screen. */
  markRead() {
    this.setUnread(0);
    const { list } = this.options;
    list.scrollTop = list.scrollHeight;
  }

  /** @param {string} text an error to show under the input; empty hides it */
  showError(text) {
    this.options.error.textContent = text;
    this.options.error.hidden = !text;
  }

  /**
   * The input's text, trimmed and checked; shows why when it cannot be sent.
   * @returns {string | null}
   */
  takeText() {
    const text = this.options.input.value.trim();
    if (!text) return null;
    if (text.length > MAX_CHAT_LENGTH) {
      this.showError(`A message is at most ${MAX_CHAT_LENGTH} characters (this one has ${text.length}).`);
      return null;
    }
    this.options.input.value = '';
    return text;
  }

  /** @private */
  send() {
    const text = this.takeText();
    if (text) this.options.act({ type: 'chat_send', text });
  }

  /** @private */
  loadOlder() {
    if (!this.hasMore || this.loadingOlder || this.awaitingFirstPage || this.shown.size === 0) return;
    this.loadingOlder = true;
    this.options.act({ type: 'chat_history', before: Math.min(...this.shown.keys()) });
  }

  /**
   * @private
   * @param {number} count
   */
  setUnread(count) {
    this.unread = count;
    this.options.onUnread(count);
  }

  /**
   * @private
   * @param {ChatMessage} message
   */
  render(message) {
    const item = document.createElement('li');
    item.className = `chat-message kind-${message.kind}${message.mine ? ' mine' : ''}`;
    item.dataset.chatMessage = String(message.id);
    item.dataset.kind = message.kind;
    const meta = document.createElement('div');
    meta.className = 'meta';
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = message.kind === 'bot' ? message.author_name || 'huddle bot' : message.author_name;
    const time = document.createElement('time');
    time.dateTime = new Date(message.sent_at).toISOString();
    time.textContent = localTime(message.sent_at);
    time.title = new Date(message.sent_at).toLocaleString();
    meta.append(author, time);
    if (message.kind === 'scheduled') meta.append(tag('scheduled'));
    if (message.late) {
      item.dataset.late = '';
      meta.append(tag('late'));
    }
    const body = document.createElement('p');
    body.className = 'text';
    appendLinkified(body, message.text);
    item.append(meta, body);
    this.shown.set(message.id, item);
    return item;
  }
}

/** @param {string} text */
function tag(text) {
  const span = document.createElement('span');
  span.className = `tag tag-${text}`;
  span.textContent = text;
  return span;
}
