// A forced mesh room holds --mesh-limit participants (default 4); the next one is told the room is
// full. Auto and sfu rooms have no such screen short of --max-participants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('the fifth joiner of a mesh room sees "room is full"', { timeout: 300_000 }, () =>
  h.scenario('room-full', async (s) => {
    await s.startServer({ args: ['--media-mode', 'mesh'] });
    const room = h.roomName('full');
    const inside = await s.joinAll(room, ['ada', 'bo', 'cy', 'di']);

    const fifth = await s.join(room, 'eve');
    await fifth.page.waitForSelector('[data-room-full]', { state: 'visible', timeout: 30_000 });
    assert.equal(await fifth.page.locator('[data-participant]:not([data-local])').count(), 0, 'the fifth sees nobody');

    // The four inside never see the fifth.
    for (const p of inside) {
      assert.equal(await p.page.locator('[data-participant]:not([data-local])').count(), 3, `${p.name} sees 3 others`);
    }
  }),
);
