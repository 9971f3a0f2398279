// The signaling connection's reconnects and back-off (assets/js/signaling.js), over a fake
// WebSocket and mocked timers: what a user sees when the network drops, without a browser.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import {
  Signaling, backoffDelay, CONNECT_TIMEOUT_MS, MOVING_RETRY_MS, OVERLOADED_RETRY_MS, PING_INTERVAL_MS, RECONNECT_MAX_MS,
  RECONNECT_MIN_MS, SILENCE_TIMEOUT_MS,
} from '../../assets/js/signaling.js';
import { FakeSocket } from './fake-socket.js';

const MEDIA = { audio: true, video: false, screen: false };
const JOINED = { type: 'joined', version: 1, you: 'a', room: 'r', participants: [], ice_servers: [] };

/** A signaling connection joining room `r` over a fake socket that opened, on mocked timers. */
function joining(t) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.made = [];
  globalThis.WebSocket = /** @type {any} */ (FakeSocket);
  /** @type {any[]} */
  const events = [];
  const signaling = new Signaling((event) => events.push(event), 'ws://huddle.test/ws');
  signaling.join('r', 'Ada', MEDIA);
  const socket = FakeSocket.made[0];
  socket.open();
  return { signaling, events, socket, states: () => events.filter((e) => e.kind === 'state').map((e) => e.state) };
}

/** A signaling connection joined to room `r`, with what its listener heard. */
function joined(t) {
  const connection = joining(t);
  connection.socket.receive(JOINED);
  return connection;
}

/** The socket made after `socket`, once the reconnect timer ran (at most the back-off's ceiling). */
function nextSocket(t, socket) {
  const index = FakeSocket.made.indexOf(socket);
  t.mock.timers.tick(RECONNECT_MAX_MS);
  const next = FakeSocket.made[index + 1];
  assert.ok(next, 'a reconnect opened a new socket');
  return next;
}

test('back-off grows from half a second to ten, never below the minimum', () => {
  assert.equal(backoffDelay(0, () => 0), RECONNECT_MIN_MS);
  assert.equal(backoffDelay(0, () => 1), RECONNECT_MIN_MS);
  assert.equal(backoffDelay(3, () => 1), RECONNECT_MIN_MS * 8);
  assert.equal(backoffDelay(3, () => 0), RECONNECT_MIN_MS * 4);
  assert.equal(backoffDelay(30, () => 1), RECONNECT_MAX_MS);
  assert.equal(backoffDelay(30, () => 0), RECONNECT_MAX_MS / 2);
});

test('a dropped connection reconnects and joins again with the latest media', (t) => {
  const { signaling, states, socket } = joined(t);
  signaling.update({ audio: false, video: true, screen: false });
  socket.drop(1006);
  assert.deepEqual(states(), ['connecting', 'connected', 'reconnecting']);
  const again = nextSocket(t, socket);
  again.open();
  const join = again.sent[0];
  assert.equal(join.type, 'join');
  assert.equal(join.name, 'Ada');
  assert.deepEqual(join.media, { audio: false, video: true, screen: false });
  again.receive(JOINED);
  assert.deepEqual(states().at(-1), 'connected');
});

test('media granted while the join is on its way is told once joined', (t) => {
  const { signaling, socket } = joining(t);
  assert.deepEqual(socket.sent[0].media, MEDIA);
  const granted = { audio: true, video: true, screen: false };
  signaling.update(granted);
  assert.equal(socket.sent.length, 1, 'nothing but the join before the answer');
  socket.receive(JOINED);
  assert.deepEqual(socket.sent.filter((m) => m.type === 'update').map((m) => m.media), [granted]);
});

test('a join answered with the media it told sends no update', (t) => {
  const { socket } = joined(t);
  assert.deepEqual(socket.sent.filter((m) => m.type === 'update'), []);
});

test('failed reconnects wait longer and longer, and a join resets the wait', (t) => {
  const { socket } = joined(t);
  socket.drop(1006);
  /** @type {number[]} */
  const waits = [];
  let current = socket;
  for (let attempt = 0; attempt < 6; attempt += 1) {
    const before = FakeSocket.made.length;
    let waited = 0;
    while (FakeSocket.made.length === before) {
      t.mock.timers.tick(100);
      waited += 100;
    }
    waits.push(waited);
    current = FakeSocket.made.at(-1);
    current.drop(1006);
  }
  // Each wait is at least half the doubling ceiling: 0.25-0.5 s rounded up, then 0.5-1 s, ... up to 10 s.
  for (const [attempt, wait] of waits.entries()) {
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt);
    assert.ok(wait >= Math.max(RECONNECT_MIN_MS, ceiling / 2), `attempt ${attempt} waited ${wait} ms`);
    assert.ok(wait <= ceiling + 100, `attempt ${attempt} waited ${wait} ms`);
  }
  const back = FakeSocket.made.at(-1);
  t.mock.timers.tick(RECONNECT_MAX_MS);
  const rejoined = FakeSocket.made.at(-1);
  assert.notEqual(rejoined, back);
  rejoined.open();
  rejoined.receive(JOINED);
  rejoined.drop(1006);
  const before = FakeSocket.made.length;
  t.mock.timers.tick(RECONNECT_MIN_MS);
  assert.equal(FakeSocket.made.length, before + 1, 'after a join the first retry comes within half a second');
});

test('a kick ends the call and does not reconnect', (t) => {
  const { events, socket } = joined(t);
  socket.drop(1008, 'kicked by a host');
  assert.deepEqual(events.at(-1), { kind: 'ended', reason: { kind: 'kicked', message: 'kicked by a host' } });
  t.mock.timers.tick(RECONNECT_MAX_MS * 3);
  assert.equal(FakeSocket.made.length, 1);
});

test('a re-join refused as full is retried a few times, then the call ends', (t) => {
  const { events, socket } = joined(t);
  socket.drop(1006);
  let current = socket;
  for (let refusal = 0; refusal <= 5; refusal += 1) {
    current = nextSocket(t, current);
    current.open();
    current.receive({ type: 'error', code: 'room_full', message: 'full' });
  }
  assert.deepEqual(events.at(-1), { kind: 'ended', reason: { kind: 'refused', code: 'room_full', message: 'full' } });
  const made = FakeSocket.made.length;
  t.mock.timers.tick(RECONNECT_MAX_MS * 3);
  assert.equal(FakeSocket.made.length, made, 'no reconnect after the end');
});

test('a first join refused ends at once', (t) => {
  const { socket, events } = joining(t);
  socket.receive({ type: 'error', code: 'room_full', message: 'full' });
  assert.deepEqual(events.at(-1), { kind: 'ended', reason: { kind: 'refused', code: 'room_full', message: 'full' } });
  t.mock.timers.tick(RECONNECT_MAX_MS * 3);
  assert.equal(FakeSocket.made.length, 1);
});

test('pings keep the connection; silence from the server makes it reconnect', (t) => {
  const { socket, states } = joined(t);
  t.mock.timers.tick(PING_INTERVAL_MS);
  assert.ok(socket.sent.some((m) => m.type === 'ping'), 'a ping after the interval');
  socket.receive({ type: 'pong' });
  const made = FakeSocket.made.length;
  for (let second = 0; second * 1000 < SILENCE_TIMEOUT_MS + 1000; second += 1) t.mock.timers.tick(1000);
  assert.equal(states().at(-1), 'reconnecting');
  assert.equal(socket.closedWith, 4000);
  t.mock.timers.tick(RECONNECT_MAX_MS);
  assert.equal(FakeSocket.made.length, made + 1);
});

test('a redirect joins the room on its home node at once, and a later drop comes back by the entry', (t) => {
  const { socket, states } = joining(t);
  socket.receive({ type: 'redirect', url: 'https://n2.huddle.test', node: 'n2' });
  assert.equal(socket.closedWith, 4000);
  const home = FakeSocket.made.at(-1);
  assert.equal(home.url, 'wss://n2.huddle.test/ws', 'no back-off before following');
  home.open();
  assert.equal(home.sent[0].type, 'join');
  assert.equal(home.sent[0].home, 'n2', 'the join tells the node it was chosen');
  home.receive(JOINED);
  assert.equal(states().at(-1), 'connected');
  // The home node dies: the reconnect goes through the address the user came in by.
  home.drop(1006);
  const again = nextSocket(t, home);
  assert.equal(again.url, 'ws://huddle.test/ws');
  again.open();
  assert.equal(again.sent[0].home, undefined);
});

test('redirects without a join are followed three times, then the entry is asked after a back-off', (t) => {
  const { socket } = joining(t);
  let current = socket;
  for (let hop = 0; hop < 3; hop += 1) {
    current.receive({ type: 'redirect', url: `http://n${hop}.huddle.test`, node: `n${hop}` });
    current = FakeSocket.made.at(-1);
    current.open();
  }
  const made = FakeSocket.made.length;
  current.receive({ type: 'redirect', url: 'http://n9.huddle.test', node: 'n9' });
  assert.equal(FakeSocket.made.length, made, 'not followed at once');
  assert.equal(nextSocket(t, current).url, 'ws://huddle.test/ws');
});

test('a home that does not answer (its node died) is asked for through the entry every second, without a growing back-off', (t) => {
  const { socket } = joining(t);
  let current = socket;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    current.receive({ type: 'redirect', url: 'http://n2.huddle.test', node: 'n2' });
    const home = FakeSocket.made.at(-1);
    home.drop(1006);
    const made = FakeSocket.made.length;
    t.mock.timers.tick(MOVING_RETRY_MS);
    assert.equal(FakeSocket.made.length, made + 1, `attempt ${attempt}: asked again after a second`);
    current = FakeSocket.made.at(-1);
    assert.equal(current.url, 'ws://huddle.test/ws', 'through the entry');
    current.open();
  }
});

test('a home whose handshake never ends (its node is paused) is given up for the entry', (t) => {
  const { socket } = joining(t);
  socket.receive({ type: 'redirect', url: 'http://n2.huddle.test', node: 'n2' });
  const home = FakeSocket.made.at(-1);
  t.mock.timers.tick(CONNECT_TIMEOUT_MS);
  assert.equal(home.readyState, FakeSocket.CLOSED);
  t.mock.timers.tick(MOVING_RETRY_MS);
  assert.equal(FakeSocket.made.at(-1).url, 'ws://huddle.test/ws');
});

test('a room moving between nodes is asked for again every second, then given up after a minute', (t) => {
  const { socket, events, states } = joined(t);
  socket.drop(1006);
  let current = nextSocket(t, socket);
  const moving = { type: 'error', code: 'room_moving', message: 'moving' };
  for (let second = 0; second < 60; second += 1) {
    current.open();
    current.receive(moving);
    assert.equal(states().at(-1), 'reconnecting');
    const made = FakeSocket.made.length;
    t.mock.timers.tick(MOVING_RETRY_MS);
    assert.equal(FakeSocket.made.length, made + 1, `retry ${second} after a second`);
    current = FakeSocket.made.at(-1);
  }
  current.open();
  t.mock.timers.tick(RECONNECT_MAX_MS);
  current.receive(moving);
  assert.deepEqual(events.at(-1), { kind: 'ended', reason: { kind: 'refused', code: 'room_moving', message: 'moving' } });
});

test('a first join refused for overload is asked again every few seconds, then given up after a minute', (t) => {
  const { socket, events } = joining(t);
  let current = socket;
  const overloaded = { type: 'error', code: 'room_overloaded', message: 'at capacity' };
  let waited = 0;
  while (waited <= 60_000) {
    current.receive(overloaded);
    assert.deepEqual(events.at(-1), { kind: 'retrying', code: 'room_overloaded', message: 'at capacity' },
      `the page is told it is tried again after ${waited} ms`);
    const made = FakeSocket.made.length;
    t.mock.timers.tick(OVERLOADED_RETRY_MS / 2 - 1);
    assert.equal(FakeSocket.made.length, made, 'not before half the wait');
    t.mock.timers.tick(OVERLOADED_RETRY_MS / 2 + 1);
    assert.equal(FakeSocket.made.length, made + 1, 'asked again within the wait');
    waited += OVERLOADED_RETRY_MS;
    current = FakeSocket.made.at(-1);
    current.open();
  }
  current.receive(overloaded);
  assert.deepEqual(events.at(-1), { kind: 'ended', reason: { kind: 'refused', code: 'room_overloaded', message: 'at capacity' } });
});

test('a join let in after overload refusals starts its next minute of retries afresh', (t) => {
  const { socket, events } = joining(t);
  socket.receive({ type: 'error', code: 'room_overloaded', message: 'at capacity' });
  t.mock.timers.tick(50_000);
  const again = FakeSocket.made.at(-1);
  again.open();
  again.receive(JOINED);
  again.drop(1006);
  const next = nextSocket(t, again);
  next.open();
  t.mock.timers.tick(20_000);
  next.receive({ type: 'error', code: 'room_overloaded', message: 'at capacity' });
  assert.notEqual(events.at(-1)?.kind, 'ended');
});

test('leaving says goodbye, closes normally and never reconnects', (t) => {
  const { signaling, socket, events } = joined(t);
  signaling.leave();
  assert.equal(socket.sent.at(-1).type, 'leave');
  assert.equal(socket.closedWith, 1000);
  assert.deepEqual(events.at(-1), { kind: 'ended', reason: { kind: 'left' } });
  socket.drop(1000);
  t.mock.timers.tick(RECONNECT_MAX_MS * 3);
  assert.equal(FakeSocket.made.length, 1);
});
