// What hosts see and do: the host bar (lock, lobby, viewers' chat, password, end the meeting), the
// lobby's knocks
// (admit, deny), and moderation buttons on each remote tile (mute, stop video, make host, remove).
// Shown only to hosts; the server enforces roles whatever the page shows.
//
// Stable hooks for tests: [data-host-panel], [data-host-action="lock|lobby|viewers-chat|password|end"]
// (state in aria-pressed), body[data-viewers-chat="on|off"], [data-knock="<id>"] with [data-admit] and [data-deny], and on remote tiles
// [data-moderate="mute|stop_video|hand_over_host|kick"].

import { element, show } from './dom.js';

/** @import { AccessState, Knock, Moderation, Role } from './protocol.js' */

/** @type {[Moderation['kind'], string][]} the buttons on a remote tile */
const TILE_ACTIONS = [
  ['mute', 'Mute'],
  ['stop_video', 'Stop video'],
  ['hand_over_host', 'Make host'],
  ['kick', 'Remove'],
];

export class HostControls {
  /** @param {(action: Moderation) => void} moderate sends a `moderate` message */
  constructor(moderate) {
    this.moderate = moderate;
    this.panel = element('[data-host-panel]', HTMLElement);
    this.knocks = element('[data-knocks]', HTMLElement);
    /** @type {Role} */
    this.role = 'participant';
    /** @type {AccessState} */
    this.access = { locked: false, lobby: false, password: false, viewers_chat: false };
    this.wire();
  }

  /** @param {Role} role */
  setRole(role) {
    this.role = role;
    document.body.dataset.role = role;
    show(this.panel, role === 'host');
    if (role !== 'host') this.knocks.replaceChildren();
  }

  /** @param {AccessState} access */
  setAccess(access) {
    this.access = access;
    this.pressed('lock', access.locked, access.locked ? 'Unlock the room' : 'Lock the room');
    this.pressed('lobby', access.lobby, access.lobby ? 'Turn the lobby off' : 'Turn the lobby on');
    const viewersChat = Boolean(access.viewers_chat);
    this.pressed('viewers-chat', viewersChat, viewersChat ? 'Stop viewers from chatting' : 'Let viewers chat');
    // A viewer's page shows the chat box only where viewers may write (style.css).
    document.body.dataset.viewersChat = viewersChat ? 'on' : 'off';
    this.pressed('password', access.password, access.password ? 'Remove the password' : 'Set a password');
  }

  /**
   * Puts the moderation buttons on a remote participant's tile (once).
   * @param {string} id
   * @param {HTMLElement} tile
   */
  decorate(id, tile) {
    if (tile.querySelector('[data-moderation]')) return;
    const menu = document.createElement('div');
    menu.className = 'tile-moderation';
    menu.dataset.moderation = '';
    for (const [kind, label] of TILE_ACTIONS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'small';
      button.dataset.moderate = kind;
      button.textContent = label;
      button.addEventListener('click', () => this.moderate(/** @type {Moderation} */ ({ kind, participant: id })));
      menu.append(button);
    }
    tile.append(menu);
  }

  /** @param {Knock} knock someone waits in the lobby */
  knock(knock) {
    this.knockEnded(knock.id);
    const row = document.createElement('div');
    row.className = 'knock';
    row.dataset.knock = knock.id;
    const name = document.createElement('span');
    name.textContent = `${knock.name} wants to join`;
    row.append(name);
    for (const [attribute, label, kind] of /** @type {const} */ ([['admit', 'Admit', 'admit'], ['deny', 'Deny', 'deny']])) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = attribute === 'admit' ? 'small primary' : 'small';
      button.dataset[attribute] = '';
      button.textContent = label;
      button.addEventListener('click', () => this.moderate({ kind, participant: knock.id }));
      row.append(button);
    }
    this.knocks.append(row);
  }

  /** @param {string} id nobody needs to answer this knock any more */
  knockEnded(id) {
    for (const row of this.knocks.querySelectorAll('[data-knock]')) {
      if (row instanceof HTMLElement && row.dataset.knock === id) row.remove();
    }
  }

  /** @private */
  wire() {
    /** @type {Record<string, () => void>} */
    const actions = {
      lock: () => this.moderate({ kind: 'lock', locked: !this.access.locked }),
      lobby: () => this.moderate({ kind: 'lobby', enabled: !this.access.lobby }),
      'viewers-chat': () => this.moderate({ kind: 'viewers_chat', enabled: !this.access.viewers_chat }),
      password: () => {
        if (this.access.password) {
          this.moderate({ kind: 'set_password', password: null });
          return;
        }
        const password = prompt('Password for this room (people joining without a link with a token must type it):');
        if (password) this.moderate({ kind: 'set_password', password });
      },
      end: () => {
        if (confirm('End the meeting for everybody?')) this.moderate({ kind: 'end_meeting' });
      },
    };
    for (const button of this.panel.querySelectorAll('[data-host-action]')) {
      if (!(button instanceof HTMLButtonElement)) continue;
      const run = actions[button.dataset.hostAction ?? ''];
      if (run) button.addEventListener('click', run);
    }
  }

  /**
   * @private
   * @param {string} action
   * @param {boolean} on
   * @param {string} title
   */
  pressed(action, on, title) {
    const button = element(`[data-host-action="${action}"]`, HTMLButtonElement);
    button.setAttribute('aria-pressed', String(on));
    button.title = title;
  }
}
