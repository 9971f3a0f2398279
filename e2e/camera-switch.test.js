// Switching to another camera replaces the track in place: the call stays up and no SDP is exchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

/** deviceIds of the cameras the page sends on its peer connections (a set: all should agree). */
const sendingCamera = (page) =>
  page.evaluate(() => {
    const ids = new Set();
    for (const pc of window.__e2e.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      for (const sender of pc.getSenders()) {
        const track = sender.track;
        if (track && track.kind === 'video' && track.readyState === 'live') {
          const id = track.getSettings().deviceId;
          if (id && !id.startsWith('screen') && !id.startsWith('window')) ids.add(id);
        }
      }
    }
    return [...ids].sort().join(',') || null;
  });

test('switching the camera keeps the call up with no new offer or answer', { timeout: 240_000 }, () =>
  h.scenario('camera-switch', async (s) => {
    await s.startServer();
    const [ada, bo] = await s.joinAll(h.roomName('camswitch'), ['ada', 'bo']);
    await h.waitForRemoteVideos(ada.page, 1);
    await h.waitForRemoteVideos(bo.page, 1);
    await s.recordJoinTimes([ada, bo]);
    // Negotiation may still be settling (candidates, a late answer): start counting from quiet.
    await h.sleep(2_000);
    const before = [h.countSignals(ada), h.countSignals(bo)];
    assert.ok(before[0] + before[1] >= 2, `the first offer and answer were seen on the wire: ${before}`);

    const picker = ada.page.locator('select[data-device="videoinput"]');
    // The pickers may live in a closed settings panel.
    if (!(await picker.isVisible()) && (await ada.page.locator('[data-action="settings"]').isVisible())) {
      await ada.page.click('[data-action="settings"]');
    }
    const cameras = await picker
      .locator('option')
      .evaluateAll((options) => options.map((o) => ({ id: o.value, label: o.textContent })));
    assert.ok(cameras.length >= 2, `several fake cameras offered in the picker: ${JSON.stringify(cameras)}`);
    const current = await sendingCamera(ada.page);
    // fake_device_1 is a depth camera (Y16) that WebRTC cannot send: prefer fake_device_2.
    const others = cameras.filter((c) => c.id && c.id !== current);
    const next = (others.find((c) => c.label.includes('fake_device_2')) || others[0] || {}).id;
    assert.ok(next, `a camera other than ${current} among ${JSON.stringify(cameras)}`);

    await picker.selectOption(next);
    await h.waitUntil('ada to send from the chosen camera', async () => (await sendingCamera(ada.page)) === next, {
      timeout: 10_000,
    });

    // The new camera's frames reach bo, and the call never left "connected".
    await h.waitForRemoteVideos(bo.page, 1, { timeout: 20_000 });
    await h.sleep(2_000);
    for (const p of [ada, bo]) {
      assert.equal(await p.page.getAttribute('body', 'data-connection'), 'connected', `${p.name} still connected`);
    }
    const after = [h.countSignals(ada), h.countSignals(bo)];
    assert.deepEqual(after, before, 'no SDP offer or answer sent by either page after switching camera');
  }),
);
