// What people do together in the call besides seeing and hearing each other: chat and scheduled
// messages, the whiteboard, the title, raised hands, reactions, shared files. Routes the server's `RoomEvent`s to the views that draw them
// and their actions back to the server; room.js owns the call itself and tells us who is in it.

/** @import { RoomAction, RoomEvent, JoinedMessage, ErrorCode } from './protocol.js' */
/** @import { TileGrid, Tile } from './tiles.js' */
/** @import { Person } from './people.js' */

import { element } from './dom.js';
import { ChatPane } from './chat.js';
import { ScheduledList } from './scheduled.js';
import { Whiteboard } from './whiteboard.js';
import { PeopleList } from './people.js';
import { FileShare } from './files.js';
import { TransferList } from './transfers.js';
import { SidePanel } from './panel.js';
import { RoomTitle } from './title.js';
import { ReactionPicker } from './reactions.js';

/** Errors about chat and scheduled messages, said under the chat input. */
const CHAT_ERRORS = new Set(['chat_too_long', 'empty_message', 'invalid_schedule_time', 'unknown_scheduled',
  'not_author', 'bot_unavailable', 'storage_failed']);
/** What to say when the server's own message is missing. */
const FALLBACK_TEXT = {
  whiteboard_full: 'The whiteboard is full: undo or clear to draw more.',
  invalid_whiteboard_item: 'The server could not take that drawing.',
  bot_unavailable: 'No chat bot is configured on this server.',
  chat_too_long: 'That message is too long.',
};

export class Collaboration {
  /**
   * @param {object} options
   * @param {string} options.room
   * @param {TileGrid} options.grid
   * @param {(action: RoomAction) => void} options.act
   * @param {() => Person[]} options.people everyone in the call, ourselves included
   * @param {(text: string) => void} options.notify
   */
  constructor(options) {
    this.options = options;
    this.selfId = '';
    /** @type {string[]} raised hands, first raised first */
    this.hands = [];
    const { act } = options;
    const callScreen = element('[data-call]', HTMLElement);
    this.panel = new SidePanel({
      root: element('[data-side-panel]', HTMLElement),
      call: callScreen,
      onShow: (pane) => {
        if (pane === 'chat') this.chat.markRead();
      },
    });
    this.chat = new ChatPane({
      list: element('[data-chat-messages]', HTMLOListElement),
      form: element('[data-chat-form]', HTMLFormElement),
      input: element('[data-chat-input]', HTMLTextAreaElement),
      error: element('[data-chat-error]', HTMLElement),
      act,
      isRead: () => this.panel.isShowing('chat'),
      onUnread: (count) => showBadge(element('[data-unread]', HTMLElement), count),
    });
    this.scheduled = new ScheduledList({
      list: element('[data-scheduled-list]', HTMLUListElement),
      at: element('[data-schedule-at]', HTMLInputElement),
      send: element('[data-schedule-send]', HTMLButtonElement),
      chat: this.chat,
      act,
    });
    this.whiteboard = new Whiteboard({
      root: element('[data-board]', HTMLElement),
      canvas: element('[data-whiteboard]', HTMLCanvasElement),
      confirmClear: element('[data-clear-dialog]', HTMLDialogElement),
      act,
    });
    this.peopleList = new PeopleList({
      queue: element('[data-hand-queue]', HTMLOListElement),
      people: element('[data-people]', HTMLUListElement),
      count: element('[data-people-count]', HTMLElement),
    });
    this.files = new FileShare((transfer) => this.transfers.update(transfer));
    this.transfers = new TransferList({
      list: element('[data-transfers]', HTMLUListElement),
      input: element('[data-file-input]', HTMLInputElement),
      share: element('[data-action="share-file"]', HTMLButtonElement),
      files: this.files,
      nameOf: (id) => options.people().find((person) => person.id === id)?.name ?? 'someone who left',
      onIncoming: () => {
        if (!this.panel.isShowing('files')) this.panel.show('files');
      },
    });
    this.title = new RoomTitle({
      shown: element('[data-room-title]', HTMLButtonElement),
      input: element('[data-title-input]', HTMLInputElement),
      room: options.room,
      act,
    });
    new ReactionPicker({
      toggle: element('[data-action="react"]', HTMLButtonElement),
      picker: element('[data-reaction-picker]', HTMLElement),
      act,
    });
    this.handButton = element('[data-action="raise-hand"]', HTMLButtonElement);
    this.handButton.addEventListener('click', () => act({ type: 'raise_hand', raised: !this.hands.includes(this.selfId) }));
    const boardButton = element('[data-action="whiteboard"]', HTMLButtonElement);
    boardButton.addEventListener('click', () => {
      const open = callScreen.classList.toggle('board-open');
      boardButton.setAttribute('aria-pressed', String(open));
      element('[data-board]', HTMLElement).hidden = !open;
    });
  }

  /** @param {JoinedMessage} joined a (re-)join: the state that follows it replaces ours */
  joined(joined) {
    this.selfId = joined.you;
    this.files.selfId = joined.you;
    this.chat.reset();
    this.title.set(joined.title ?? null);
    this.hands = joined.hands ?? [];
    this.peopleChanged();
  }

  /** Someone joined, left or changed their media: redraw the list and the hand badges. */
  peopleChanged() {
    this.peopleList.draw(this.options.people(), this.hands);
    const { grid } = this.options;
    /** @type {[string, Tile][]} */
    const tiles = [[this.selfId, grid.local], ...grid.remotes];
    for (const [id, tile] of tiles) tile.setHand(this.hands.indexOf(id) + 1);
    this.handButton.setAttribute('aria-pressed', String(this.hands.includes(this.selfId)));
  }

  /**
   * @param {RTCDataChannel} channel a "files" channel of the media connection
   * @param {string | null} peer the participant at its other end; null for the SFU's
   */
  addFileChannel(channel, peer) {
    this.files.addChannel(channel, peer);
  }

  /** @param {RoomEvent} event */
  handle(event) {
    switch (event.type) {
      case 'chat_history':
        this.chat.showHistory(event.messages, event.has_more);
        break;
      case 'chat_message':
        this.chat.add(event.message);
        break;
      case 'scheduled_list':
        this.scheduled.replace(event.scheduled);
        break;
      case 'scheduled_added':
        this.scheduled.add(event.scheduled);
        break;
      case 'scheduled_removed':
        this.scheduled.remove(event.id);
        break;
      case 'title_changed':
        this.title.set(event.title);
        break;
      case 'whiteboard_state':
        this.whiteboard.replace(event.items);
        break;
      case 'whiteboard_added':
        this.whiteboard.add({ ...event.item, mine: false });
        break;
      case 'whiteboard_extended':
        this.whiteboard.extend(event.id, event.points);
        break;
      case 'whiteboard_removed':
        this.whiteboard.remove(event.id);
        break;
      case 'whiteboard_cleared':
        this.whiteboard.clear();
        break;
      case 'hands':
        this.hands = event.queue;
        this.peopleChanged();
        break;
      case 'reaction':
        this.tileOf(event.from)?.showReaction(event.emoji);
        break;
    }
  }

  /**
   * Says what went wrong with something we did here; false for errors that are not ours.
   * @param {ErrorCode} code
   * @param {string} message
   */
  error(code, message) {
    const text = message || FALLBACK_TEXT[/** @type {keyof typeof FALLBACK_TEXT} */ (code)] || code;
    if (CHAT_ERRORS.has(code)) {
      this.chat.showError(code === 'bot_unavailable' ? FALLBACK_TEXT.bot_unavailable : text);
      this.panel.show('chat');
    } else if (code === 'whiteboard_full' || code === 'invalid_whiteboard_item') {
      this.whiteboard.refused(code === 'whiteboard_full' ? FALLBACK_TEXT.whiteboard_full : text);
    } else if (code === 'title_too_long' || code === 'invalid_reaction') {
      this.options.notify(text);
    } else {
      return false;
    }
    return true;
  }

  /**
   * @private
   * @param {string} id
   */
  tileOf(id) {
    return id === this.selfId ? this.options.grid.local : this.options.grid.remotes.get(id);
  }
}

/**
 * @param {HTMLElement} badge
 * @param {number} count
 */
function showBadge(badge, count) {
  badge.textContent = count > 99 ? '99+' : String(count);
  badge.hidden = count === 0;
}
