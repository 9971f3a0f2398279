// What an sfu room's pages tell the SFU about their tiles (`view`): a screen share's tile is
// reported on its own (`source: "screen"`), with its own size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const SFU_ARGS = ['--media-mode', 'sfu'];

/** The last `view` entry the page sent for this participant's camera or screen. */
function lastTile(participant, id, source) {
  for (const view of [...participant.sentViews].reverse()) {
    const tile = view.tiles.find((t) => t.participant === id && (t.source ?? 'camera') === source);
    if (tile) return tile;
  }
  return null;
}

test('a screen tile is reported apart from the camera tile, with its own size', { timeout: 120_000 }, () =>
  h.scenario('sfu-view-screen', async (s) => {
    await s.startServer({ args: SFU_ARGS });
    const [ada, bo] = await s.joinAll(h.roomName('sfuview'), ['ada', 'bo']);
    await h.waitForRemoteVideos(bo.page, 1, { timeout: 60_000 });
    const adaId = await h.ownId(ada.page);

    await ada.page.click('[data-action="share-screen"]');
    await h.waitUntil('bo to decode ada\'s screen', async () => {
      const stats = await h.framesAdvancing(bo.page, { selector: '[data-screen]', windowMs: 1_000 });
      return stats.length === 1 && stats[0].advancing;
    }, { timeout: 30_000 });
    const screen = await h.waitUntil('bo to report ada\'s screen tile', () => lastTile(bo, adaId, 'screen'));
    assert.equal(screen.visible, true);
    assert.ok(screen.width > 0, `screen tile size reported: ${JSON.stringify(screen)}`);

    // Pinned, the camera is large and the screen a thumbnail: each is reported at its own size.
    await bo.page.click(`${h.tileOf(adaId)} [data-pin]`);
    const sizes = await h.waitUntil('bo to report a large camera next to a small screen', () => {
      const camera = lastTile(bo, adaId, 'camera');
      const shown = lastTile(bo, adaId, 'screen');
      return camera && shown && camera.visible && shown.visible && camera.width > 2 * shown.width && { camera, shown };
    });
    console.log(`pinned camera ${sizes.camera.width}x${sizes.camera.height}, screen ${sizes.shown.width}x${sizes.shown.height}`);
    // Still decoding both.
    const stats = await h.framesAdvancing(bo.page, { windowMs: 1_500 });
    assert.ok(stats.length === 2 && stats.every((t) => t.advancing), `camera and screen advance: ${JSON.stringify(stats)}`);
  }),
);
