// A host moderates from the page: mutes and stops a participant's camera (their page follows),
// removes them (they see why), locks the room and runs the lobby.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

/** Clicks a moderation button on the host's tile of `target`. */
async function moderate(host, target, action) {
  const id = await h.ownId(target.page);
  await host.page.click(`[data-participant="${id}"] [data-moderate="${action}"]`);
  return id;
}

test('a host mutes, stops the camera of and removes a participant', { timeout: 240_000 }, () =>
  h.scenario('moderation', async (s) => {
    await s.startServer();
    const [host, bo] = await s.joinAll(h.roomName('moderation'), ['host', 'bo']);
    await host.page.waitForSelector('[data-host-panel]', { state: 'visible' });
    assert.equal(await bo.page.locator('[data-host-panel]').isVisible(), false, 'bo is no host');

    const id = await moderate(host, bo, 'mute');
    await bo.page.waitForSelector('[data-action="toggle-audio"][aria-pressed="false"]');
    await host.page.waitForSelector(`[data-participant="${id}"][data-audio="off"]`);

    await moderate(host, bo, 'stop_video');
    await bo.page.waitForSelector('[data-action="toggle-video"][aria-pressed="false"]');
    await host.page.waitForSelector(`[data-participant="${id}"][data-video="off"]`);

    await moderate(host, bo, 'kick');
    await bo.page.waitForSelector('[data-join-error="kicked"]', { state: 'visible' });
    await host.page.waitForSelector(`[data-participant="${id}"]`, { state: 'detached' });

    // Kept out for the meeting.
    const again = await s.join(host.page.url().match(/\/r\/([^?]+)/)[1], 'bo-again');
    await again.page.waitForSelector('[data-join-error="banned"]', { state: 'visible' });
  }),
);

test('a locked room refuses; the lobby waits for the host to admit or deny', { timeout: 300_000 }, () =>
  h.scenario('lock-and-lobby', async (s) => {
    await s.startServer();
    const room = h.roomName('lobby');
    const [host] = await s.joinAll(room, ['host']);
    await host.page.click('[data-host-action="lock"]');
    await host.page.waitForSelector('[data-host-action="lock"][aria-pressed="true"]');
    const locked = await s.join(room, 'late');
    await locked.page.waitForSelector('[data-join-error="room_locked"]', { state: 'visible' });
    await host.page.click('[data-host-action="lock"]');
    await host.page.waitForSelector('[data-host-action="lock"][aria-pressed="false"]');

    await host.page.click('[data-host-action="lobby"]');
    await host.page.waitForSelector('[data-host-action="lobby"][aria-pressed="true"]');
    const ada = await s.join(room, 'ada');
    await ada.page.waitForSelector('[data-lobby-waiting]', { state: 'visible' });
    await host.page.click('[data-knock] [data-admit]');
    await h.waitConnected(ada.page);
    await h.waitForRemoteVideos(host.page, 1);

    const eve = await s.join(room, 'eve');
    await eve.page.waitForSelector('[data-lobby-waiting]', { state: 'visible' });
    await host.page.click('[data-knock] [data-deny]');
    await eve.page.waitForSelector('[data-join-error="denied"]', { state: 'visible' });
    // The host hears that the knock ended on its own socket, maybe after Eve heard "denied".
    await host.page.waitForSelector('[data-knock]', { state: 'detached', timeout: 5_000 });
  }),
);
