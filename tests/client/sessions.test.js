// The call's signaling sessions across a move to another cluster node (assets/js/sessions.js):
// which session's events reach the call, the pass on the next node's join, the old session only
// heard for its media and never re-joining, and leaving it once the move is over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallSessions } from '../../assets/js/sessions.js';
import { FakeSocket } from './fake-socket.js';

const MEDIA = { audio: true, video: false, screen: false };
const JOINED = { type: 'joined', version: 1, you: 'a', room: 'r', participants: [], ice_servers: [] };
const MIGRATE = { type: 'migrate', url: 'http://n2.huddle.test', node: 'n2', pass: 'p4ss' };

/** Sessions whose first one joined room `r` through the entry; what each callback heard. */
function joinedSessions(t) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.made = [];
  globalThis.WebSocket = /** @type {any} */ (FakeSocket);
  // The page's own address, which the first session comes in by.
  globalThis.window = /** @type {any} */ ({ location: { protocol: 'http:', host: 'huddle.test' } });
  /** @type {{ current: any[], moved: any[], old: any[], stayed: number }} */
  const heard = { current: [], moved: [], old: [], stayed: 0 };
  const sessions = new CallSessions({
    current: (event) => heard.current.push(event),
    moved: (joined) => heard.moved.push(joined),
    old: (message) => heard.old.push(message),
    stayed: () => (heard.stayed += 1),
  });
  sessions.start().join('r', 'Ada', MEDIA, { password: 'pw' });
  const entry = FakeSocket.made[0];
  entry.open();
  entry.receive(JOINED);
  return { sessions, heard, entry };
}

test('a move joins the next node with the pass, and the call runs there once it is joined', (t) => {
  const { sessions, heard, entry } = joinedSessions(t);
  const first = sessions.current;
  sessions.moveTo(MIGRATE);
  const next = FakeSocket.made.at(-1);
  assert.equal(next.url, 'ws://n2.huddle.test/ws');
  next.open();
  assert.deepEqual(
    { ...next.sent[0], media: undefined },
    { type: 'join', room: 'r', name: 'Ada', version: 1, media: undefined, password: 'pw', home: 'n2', pass: 'p4ss' },
  );
  entry.receive({ type: 'chat_message', message: { text: 'still here' } });
  assert.equal(heard.current.at(-1).message.type, 'chat_message', 'the call still runs on the old node');

  next.receive({ ...JOINED, you: 'a' });
  assert.equal(heard.moved.length, 1);
  assert.notEqual(sessions.current, first);
  assert.equal(sessions.leaving, first);
  next.receive({ type: 'participant_joined', participant: { id: 'b' } });
  assert.equal(heard.current.at(-1).message.type, 'participant_joined');
  entry.receive({ type: 'participant_left', id: 'b' });
  entry.receive({ type: 'sfu_signal', signal: { kind: 'candidate', candidate: null } });
  assert.deepEqual(heard.old.map((m) => m.type), ['participant_left', 'sfu_signal'], 'the old node is heard apart');
  assert.notEqual(heard.current.at(-1).message.type, 'participant_left');

  // The old node stops before the move is over: its session ends, it does not re-join.
  const made = FakeSocket.made.length;
  entry.drop(1001);
  t.mock.timers.tick(20_000);
  assert.equal(FakeSocket.made.length, made, 'no reconnect of the old session');
  assert.equal(heard.current.filter((e) => e.kind === 'ended').length, 0, 'the call did not end');
});

test('once every tile moved, the old session says goodbye', (t) => {
  const { sessions, entry } = joinedSessions(t);
  sessions.moveTo(MIGRATE);
  const next = FakeSocket.made.at(-1);
  next.open();
  next.receive(JOINED);
  sessions.finishMove();
  assert.equal(entry.sent.at(-1).type, 'leave');
  assert.equal(entry.closedWith, 1000);
  assert.equal(sessions.leaving, null);
  assert.equal(sessions.moving, false);
});

test('a next node that will not have us leaves the call where it was', (t) => {
  const { sessions, heard } = joinedSessions(t);
  const first = sessions.current;
  sessions.moveTo(MIGRATE);
  const next = FakeSocket.made.at(-1);
  next.open();
  next.receive({ type: 'error', code: 'banned', message: 'banned' });
  assert.equal(heard.stayed, 1);
  assert.equal(sessions.current, first);
  assert.equal(sessions.moving, false);
});
