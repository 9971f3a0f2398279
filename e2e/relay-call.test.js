// ?ice=relay: media goes through the server's own TURN relay, and still arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('a call forced through the TURN relay decodes video both ways', { timeout: 240_000 }, async () => {
  await h.scenario('relay-call', async (s) => {
    await s.startServer();
    const [ada, bo] = await s.joinAll(h.roomName('relay'), ['ada', 'bo'], { ice: 'relay' });
    for (const p of [ada, bo]) {
      await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
      const pairs = await h.selectedCandidateTypes(p.page);
      assert.ok(pairs.length >= 1, `${p.name} has a connected peer connection`);
      for (const pair of pairs) assert.equal(pair.local, 'relay', `${p.name} sends through the relay: ${JSON.stringify(pairs)}`);
    }
    await s.recordJoinTimes([ada, bo]);
  });
});
