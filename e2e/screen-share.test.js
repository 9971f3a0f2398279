// A screen share arrives at the others as a tile of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('a screen share reaches the other pages as its own tile', { timeout: 240_000 }, () =>
  h.scenario('screen-share', async (s) => {
    await s.startServer();
    const [ada, bo, cy] = await s.joinAll(h.roomName('screen'), ['ada', 'bo', 'cy']);
    for (const p of [ada, bo, cy]) await h.waitForRemoteVideos(p.page, 2, { timeout: 90_000 });
    await s.recordJoinTimes([ada, bo, cy]);

    const adaId = await h.ownId(ada.page);
    await ada.page.click('[data-action="share-screen"]');
    for (const p of [bo, cy]) {
      const screens = await h.waitUntil(
        `${p.name} to decode ada's screen`,
        async () => {
          const stats = await h.framesAdvancing(p.page, { selector: '[data-screen]', windowMs: 1_000 });
          return stats.length === 1 && stats[0].advancing ? stats : false;
        },
        { timeout: 30_000 },
      );
      assert.equal(screens[0].id, `screen:${adaId}`, `${p.name}'s screen tile is marked with ada's id`);
      // The cameras keep flowing next to the screen.
      await h.waitForRemoteVideos(p.page, 2, { timeout: 20_000 });
    }

    // Stopping the share removes the tile everywhere.
    await ada.page.click('[data-action="share-screen"]');
    for (const p of [bo, cy]) await p.page.waitForSelector('[data-screen]', { state: 'detached', timeout: 5_000 });
  }),
);
