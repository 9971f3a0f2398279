// The People pane: raised hands in the order they went up, then everyone in the call with their
// microphone, camera and hand.
//
// Stable hooks: [data-hand-queue] > [data-hand="<participant id>"] in queue order;
// [data-people] > [data-person="<participant id>"][data-audio="on|off"][data-video="on|off"]
// (plus [data-hand-raised] while their hand is up).

/** @import { MediaState } from './protocol.js' */

/** @typedef {{ id: string, name: string, self: boolean } & MediaState} Person */

/**
 * @param {string} symbol the sprite id
 * @param {string} label
 */
function icon(symbol, label) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('role', 'img');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#${symbol}`);
  svg.append(use);
  return svg;
}

export class PeopleList {
  /**
   * @param {object} options
   * @param {HTMLOListElement} options.queue
   * @param {HTMLUListElement} options.people
   * @param {HTMLElement} options.count where the number of people is shown
   */
  constructor(options) {
    this.options = options;
  }

  /**
   * @param {Person[]} people everyone, ourselves included
   * @param {string[]} hands participant ids, first raised first
   */
  draw(people, hands) {
    const byId = new Map(people.map((person) => [person.id, person]));
    const { queue, count } = this.options;
    queue.replaceChildren(...hands.filter((id) => byId.has(id)).map((id, index) => {
      const item = document.createElement('li');
      item.dataset.hand = id;
      item.textContent = `${index + 1}. ${nameOf(/** @type {Person} */ (byId.get(id)))}`;
      return item;
    }));
    queue.hidden = hands.length === 0;
    const sorted = [...people].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
    this.options.people.replaceChildren(...sorted.map((person) => this.render(person, hands.indexOf(person.id))));
    count.textContent = String(people.length);
  }

  /**
   * @private
   * @param {Person} person
   * @param {number} handPosition 0-based place in the queue, -1 if the hand is down
   */
  render(person, handPosition) {
    const item = document.createElement('li');
    item.className = 'person';
    item.dataset.person = person.id;
    item.dataset.audio = person.audio ? 'on' : 'off';
    item.dataset.video = person.video ? 'on' : 'off';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = nameOf(person);
    item.append(name);
    if (handPosition >= 0) {
      item.dataset.handRaised = '';
      const hand = document.createElement('span');
      hand.className = 'hand';
      hand.textContent = `✋ ${handPosition + 1}`;
      hand.title = `Hand raised (${handPosition + 1} in line)`;
      item.append(hand);
    }
    item.append(
      icon(person.audio ? 'i-mic' : 'i-mic-off', person.audio ? 'Microphone on' : 'Microphone off'),
      icon(person.video ? 'i-cam' : 'i-cam-off', person.video ? 'Camera on' : 'Camera off'),
    );
    return item;
  }
}

/** @param {Person} person */
function nameOf(person) {
  return person.self ? `${person.name} (you)` : person.name;
}
