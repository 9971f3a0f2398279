// A WebSocket the client tests drive (set as `globalThis.WebSocket`): it records what the client
// sends and fires what the test says.

export class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** @type {FakeSocket[]} every socket made, oldest first */
  static made = [];

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    /** @type {any[]} */
    this.sent = [];
    /** @type {Map<string, ((event: any) => void)[]>} */
    this.handlers = new Map();
    /** @type {number | null} */
    this.closedWith = null;
    FakeSocket.made.push(this);
  }

  addEventListener(type, handler) {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  fire(type, event = {}) {
    for (const handler of this.handlers.get(type) ?? []) handler(event);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close(code) {
    this.closedWith = code;
    this.readyState = FakeSocket.CLOSED;
  }

  // What the server does.
  open() {
    this.readyState = FakeSocket.OPEN;
    this.fire('open');
  }

  receive(message) {
    this.fire('message', { data: JSON.stringify(message) });
  }

  drop(code = 1006, reason = '') {
    this.readyState = FakeSocket.CLOSED;
    this.fire('close', { code, reason });
  }
}
