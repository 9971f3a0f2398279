// The call model (assets/js/call.js): who is in the call and what changed, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Call } from '../../assets/js/call.js';

const MEDIA = { audio: true, video: true, screen: false };

/** @param {string} id @param {string} name @param {object} [more] */
function participant(id, name, more = {}) {
  return { id, name, audio: true, video: true, screen: false, ...more };
}

/** @param {object} [more] */
function joinedMessage(more = {}) {
  return {
    type: 'joined', version: 1, you: 'me', room: 'r', ice_servers: [{ urls: ['stun:x'] }],
    participants: [participant('me', 'Me'), participant('a', 'Ada'), participant('b', 'Bo')],
    ...more,
  };
}

function recorded() {
  /** @type {any[]} */
  const events = [];
  const call = new Call('Me', MEDIA, (event) => events.push(event));
  return { call, events };
}

test('a join says our role, then joined, then each other participant as a newcomer', () => {
  const { call, events } = recorded();
  const joined = joinedMessage({ role: 'host' });
  call.joined(/** @type {any} */ (joined), MEDIA);
  assert.deepEqual(events.map((e) => e.kind), ['role', 'joined', 'participant', 'participant']);
  assert.equal(events[0].role, 'host');
  assert.equal(events[1].joined, joined);
  assert.deepEqual(events.slice(2).map((e) => [e.participant.id, e.newcomer]), [['a', true], ['b', true]]);
  assert.equal(call.selfId, 'me');
  assert.equal(call.role, 'host');
  assert.deepEqual([...call.participants.keys()], ['a', 'b'], 'we are not among the others');
  assert.deepEqual(call.iceServers, [{ urls: ['stun:x'] }]);
});

test('a re-join replaces everybody: those gone are not kept', () => {
  const { call, events } = recorded();
  call.joined(/** @type {any} */ (joinedMessage()), MEDIA);
  call.joined(/** @type {any} */ (joinedMessage({ you: 'me2', participants: [participant('c', 'Cy')] })), MEDIA);
  assert.deepEqual([...call.participants.keys()], ['c']);
  assert.equal(call.selfId, 'me2');
  assert.deepEqual(events.at(-1), { kind: 'participant', participant: participant('c', 'Cy'), newcomer: true });
});

test('updates are not newcomers; our own entry only changes our role', () => {
  const { call, events } = recorded();
  call.joined(/** @type {any} */ (joinedMessage()), MEDIA);
  events.length = 0;
  call.seen(participant('a', 'Ada L.', { video: false }));
  assert.deepEqual(events, [{ kind: 'participant', participant: participant('a', 'Ada L.', { video: false }), newcomer: false }]);
  assert.equal(call.participants.get('a')?.name, 'Ada L.');
  events.length = 0;
  call.seen(participant('me', 'Me', { role: 'viewer' }));
  assert.deepEqual(events, [{ kind: 'role', role: 'viewer' }]);
  assert.equal(call.role, 'viewer');
  assert.equal(call.participants.has('me'), false);
});

test('a leaver is said once; somebody unknown leaving says nothing', () => {
  const { call, events } = recorded();
  call.joined(/** @type {any} */ (joinedMessage()), MEDIA);
  events.length = 0;
  call.left('a');
  call.left('a');
  call.left('nobody');
  assert.deepEqual(events, [{ kind: 'left', id: 'a' }]);
  assert.deepEqual([...call.participants.keys()], ['b']);
});

test('our media is announced only when it differs from what the room was told', () => {
  const { call } = recorded();
  assert.equal(call.toAnnounce({ ...MEDIA }), null, 'the join tells it');
  assert.deepEqual(call.toAnnounce({ ...MEDIA, screen: true }), { ...MEDIA, screen: true });
  assert.equal(call.toAnnounce({ ...MEDIA, screen: true }), null);
  // A join carries our media: afterwards the same state is nothing new.
  call.joined(/** @type {any} */ (joinedMessage()), { ...MEDIA, audio: false });
  assert.equal(call.toAnnounce({ ...MEDIA, audio: false }), null);
  assert.deepEqual(call.toAnnounce(MEDIA), MEDIA);
});

test('a move to another node keeps whom we knew until they arrive there, and drops who never did', () => {
  const { call, events } = recorded();
  call.joined(/** @type {any} */ (joinedMessage({ role: 'host' })), MEDIA);
  events.length = 0;
  // Ada moved before us; Bo has not yet; Cy joined the new node meanwhile.
  const there = [participant('me', 'Me'), participant('a', 'Ada'), participant('c', 'Cy')];
  call.moved(/** @type {any} */ (joinedMessage({ role: 'host', participants: there })));
  assert.deepEqual(events.map((e) => e.kind), ['role', 'moved', 'participant', 'participant']);
  assert.deepEqual(events.slice(2).map((e) => [e.participant.id, e.newcomer]), [['a', false], ['c', true]]);
  assert.deepEqual([...call.participants.keys()], ['a', 'b', 'c'], 'Bo stays while he moves');
  events.length = 0;
  call.confirmMove();
  assert.deepEqual(events, [{ kind: 'left', id: 'b' }], 'Bo never arrived');
  assert.deepEqual([...call.participants.keys()], ['a', 'c']);
});
