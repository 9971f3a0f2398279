// Joining through the pre-join screen, and the microphone toggle as the others see it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('a page joins through the pre-join form; muting shows data-audio="off" elsewhere', { timeout: 240_000 }, () =>
  h.scenario('prejoin', async (s) => {
    await s.startServer();
    const room = h.roomName('prejoin');
    const [bo] = await s.joinAll(room, ['bo']);

    const ada = await s.launch('ada');
    await ada.page.goto(s.roomUrl(room), { waitUntil: 'domcontentloaded' });
    await ada.page.waitForSelector('[data-prejoin]', { state: 'visible' });
    assert.notEqual(await ada.page.getAttribute('body', 'data-connection'), 'connected', 'not joined before the click');
    await ada.page.fill('[data-name-input]', 'Ada Lovelace');
    ada.joinStartedAt = Date.now();
    await ada.page.click('[data-join]');
    await h.waitConnected(ada.page);

    await h.waitForRemoteVideos(ada.page, 1);
    await h.waitForRemoteVideos(bo.page, 1);
    await s.recordJoinTimes([ada]);
    const adaId = await h.ownId(ada.page);
    const adaTile = bo.page.locator(h.tileOf(adaId));
    assert.match(await adaTile.innerText(), /Ada Lovelace/, 'bo sees the name typed before joining');

    await ada.page.click('[data-action="toggle-audio"]');
    await bo.page.waitForSelector(`${h.tileOf(adaId)}[data-audio="off"]`, { state: 'attached', timeout: 5_000 });
    assert.equal(await adaTile.getAttribute('data-video'), 'on', 'the camera stays on');
  }),
);
