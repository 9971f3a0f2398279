// An sfu room of 6 browsers on an SFU of two workers: one connection each to the server's SFU, the
// room spread over both workers (three members each, frames crossing between them), every page
// decodes the five other cameras, a screen share reaches everyone, and a leaver's tile goes within 2 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const SFU_ARGS = ['--media-mode', 'sfu', '--sfu-workers', '2'];
const NAMES = ['ada', 'bo', 'cy', 'di', 'ed', 'flo'];

test('an sfu room of 6 on two workers: cameras, a screen share and a leave', { timeout: 600_000 }, () =>
  h.scenario('sfu-call-6', async (s) => {
    const server = await s.startServer({ args: SFU_ARGS });
    const participants = await s.joinAll(h.roomName('sfu6'), NAMES);

    for (const p of participants) {
      await h.waitForRemoteVideos(p.page, NAMES.length - 1, { timeout: 180_000 });
      const stats = await h.remoteVideoStats(p.page, '[data-participant]:not([data-local])');
      for (const tile of stats) {
        assert.equal(tile.videoState, 'on', `${p.name} sees ${tile.id} with data-video=on`);
        assert.ok(tile.width <= 320 && tile.height <= 180, `${p.name} gets ${tile.id} at low quality: ${tile.width}x${tile.height}`);
      }
    }
    // One peer connection per page, to the SFU, not one per remote participant.
    for (const p of participants) {
      assert.equal(await p.page.getAttribute('body', 'data-media-mode'), 'sfu', `${p.name} is in an sfu room`);
      const count = await p.page.evaluate(() => window.__e2e.peerConnections.filter((pc) => pc.connectionState !== 'closed').length);
      assert.equal(count, 1, `${p.name} has one peer connection`);
    }
    for (const worker of ['0', '1']) {
      const label = `{worker="${worker}"}`;
      assert.equal(await server.metric(`huddle_sfu_worker_participants${label}`), 3, `worker ${worker} carries three`);
      assert.ok(await server.metric(`huddle_sfu_worker_packets_forwarded_total${label}`) > 0, `worker ${worker} forwards`);
    }
    const times = await s.recordJoinTimes(participants);
    console.log(`sfu room of 6: join-to-first-frame per page: ${times.join(', ')} ms (median ${h.median(times)} ms)`);

    const [ada, ...others] = participants;
    const adaId = await h.ownId(ada.page);
    await ada.page.click('[data-action="share-screen"]');
    for (const p of others) {
      const screens = await h.waitUntil(
        `${p.name} to decode ada's screen`,
        async () => {
          const stats = await h.framesAdvancing(p.page, { selector: '[data-screen]', windowMs: 1_000 });
          return stats.length === 1 && stats[0].advancing ? stats : false;
        },
        { timeout: 90_000 },
      );
      assert.equal(screens[0].id, `screen:${adaId}`, `${p.name}'s screen tile is marked with ada's id`);
    }

    const [bo, ...stay] = others;
    const boId = await h.ownId(bo.page);
    // Counted from the leave sent: on a page decoding five videos and a screen the click itself
    // can take a second under load, and that is not the leave reaching the others.
    const clicked = Date.now();
    await bo.page.click('[data-action="leave"]');
    const sent = Date.now();
    await Promise.all(stay.concat(ada).map((p) => p.page.waitForSelector(h.tileOf(boId), { state: 'detached', timeout: 2_000 })))
      .catch((error) => {
        throw new Error(`bo's tile stayed over 2 s after his leave was sent (the click took ${sent - clicked} ms): ${error.message}`);
      });
    // Those who stay keep their call.
    for (const p of stay) await h.waitForRemoteVideos(p.page, NAMES.length - 2, { timeout: 60_000 });
  }),
);
