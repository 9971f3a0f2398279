// The server goes away and comes back: pages say "reconnecting", then rejoin and the call resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('after a server restart the pages reconnect and see each other again', { timeout: 240_000 }, () =>
  h.scenario('reconnect', async (s) => {
    await s.startServer();
    const participants = await s.joinAll(h.roomName('reconnect'), ['ada', 'bo']);
    for (const p of participants) await h.waitForRemoteVideos(p.page, 1);

    await s.restartServer({ downFor: 2_000 });
    // The restart itself is short; "reconnecting" may already be over, so accept either on the way.
    for (const p of participants) {
      await p.page.waitForSelector('body[data-connection="reconnecting"], body[data-connection="connected"]', {
        state: 'attached',
        timeout: 15_000,
      });
      await h.waitConnected(p.page, 60_000);
    }
    for (const p of participants) {
      await h.waitForRemoteVideos(p.page, 1, { timeout: 60_000 });
      const states = await h.connectionStates(p.page);
      assert.deepEqual(states.slice(-3), ['connected', 'reconnecting', 'connected'], `${p.name} went through reconnecting: ${states}`);
    }
  }),
);
