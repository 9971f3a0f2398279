// Forced mesh rooms of 2 and of 4 browsers: every page decodes every other page's camera.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.js';

for (const size of [2, 4]) {
  test(`a room of ${size}: every page decodes every remote video`, { timeout: 300_000 }, () =>
    h.scenario(`mesh-call-${size}`, async (s) => {
      await s.startServer({ args: ['--media-mode', 'mesh'] });
      const room = h.roomName(`mesh${size}`);
      const names = ['ada', 'bo', 'cy', 'di'].slice(0, size);
      const participants = await s.joinAll(room, names);

      for (const p of participants) {
        await h.waitForRemoteVideos(p.page, size - 1, { timeout: 90_000 });
        // Everyone sees everyone's tile with camera and microphone on.
        const stats = await h.remoteVideoStats(p.page, '[data-participant]:not([data-local])');
        for (const tile of stats) {
          assert.equal(tile.videoState, 'on', `${p.name} sees ${tile.id} with data-video=on`);
          assert.equal(tile.audio, 'on', `${p.name} sees ${tile.id} with data-audio=on`);
          // ?quality=low asks for 320x180; the encoder may go lower, never higher.
          assert.ok(tile.width <= 320 && tile.height <= 180, `${p.name} gets ${tile.id} at low quality: ${tile.width}x${tile.height}`);
        }
        assert.equal(await p.page.locator('[data-participant][data-local] video').count(), 1, 'own tile has a video');
        // Joined while its camera started, the page plays the others' sound without asking for a click.
        await h.waitUntil(`${p.name} plays the others' sound`, () => p.page.evaluate(() =>
          [...document.querySelectorAll('[data-participant]:not([data-local]) video')].every((v) => !v.muted)));
        assert.equal(await p.page.locator('[data-notice]').isVisible(), false, `${p.name} shows no notice`);
      }

      const times = await s.recordJoinTimes(participants);
      assert.equal(times.length, size - 1, `join -> first remote frame measured on every page but the first: ${JSON.stringify(times)}`);
      console.log(`room of ${size}: join-to-first-frame per page: ${times.join(', ')} ms (median ${h.median(times)} ms)`);

      if (size === 4) {
        fs.mkdirSync(h.OUT, { recursive: true });
        const shot = path.join(h.OUT, 'call-4.png');
        await participants[0].page.screenshot({ path: shot });
        if (process.env.UPDATE_SCREENSHOT === '1') {
          const docs = path.join(h.ROOT, 'docs', 'images');
          fs.mkdirSync(docs, { recursive: true });
          fs.copyFileSync(shot, path.join(docs, 'call-4.png'));
        }
      }
    }),
  );
}
