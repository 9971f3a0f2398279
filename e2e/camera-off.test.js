// Turning the camera off shows on the others' tile and stops the frames they receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('camera off on one page: others see data-video="off" and its frames stop', { timeout: 240_000 }, () =>
  h.scenario('camera-off', async (s) => {
    await s.startServer();
    const [ada, bo] = await s.joinAll(h.roomName('camoff'), ['ada', 'bo']);
    await h.waitForRemoteVideos(ada.page, 1);
    await h.waitForRemoteVideos(bo.page, 1);
    await s.recordJoinTimes([ada, bo]);
    const adaId = await h.ownId(ada.page);
    const adaTileAtBo = h.tileOf(adaId);

    await ada.page.click('[data-action="toggle-video"]');
    await ada.page.waitForSelector('[data-participant][data-local][data-video="off"]', { timeout: 5_000, state: 'attached' });
    await bo.page.waitForSelector(`${adaTileAtBo}[data-video="off"]`, { timeout: 5_000, state: 'attached' });

    // Let frames already in flight drain, then watch: nothing new may be decoded.
    await h.sleep(1_500);
    const [stopped] = await h.framesAdvancing(bo.page, { selector: adaTileAtBo, windowMs: 3_000 });
    assert.ok(stopped, 'ada\'s tile is still shown at bo');
    assert.equal(stopped.newFrames, 0, `no frames from a camera that is off: ${JSON.stringify(stopped)}`);
    // Audio is untouched.
    assert.equal(stopped.audio, 'on');

    // And back on: frames flow again.
    await ada.page.click('[data-action="toggle-video"]');
    await bo.page.waitForSelector(`${adaTileAtBo}[data-video="on"]`, { timeout: 5_000, state: 'attached' });
    await h.waitForRemoteVideos(bo.page, 1, { timeout: 20_000 });
  }),
);
