// An auto room (the default media mode): a third page joining a 2-page call moves the room from
// the mesh to the SFU, and no remote video or audio on any page stops for more than 1 s across the
// switch (measured: every remote tile's decoded frame count and the RTP packets of the audio it
// plays, sampled every 100 ms). The third leaving does not switch back within the hold; a short
// hold does, again without a freeze. A screen share's tile swaps to the SFU on its own first
// frame, so it does not freeze either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const MAX_FREEZE_MS = 1_000;

/** Ada and bo in a mesh call, then cy: the room switches to the SFU. Returns the three pages. */
async function growToThree(s, room) {
  const pair = await s.joinAll(room, ['ada', 'bo']);
  for (const p of pair) {
    await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
    assert.equal(await p.page.getAttribute('body', 'data-media-mode'), 'mesh', `${p.name} starts in the mesh`);
    await sampleBoth(p.page);
  }
  const [cy] = await s.joinAll(room, ['cy']);
  await sampleBoth(cy.page);
  const all = [...pair, cy];
  for (const p of all) {
    await p.page.waitForSelector('body[data-media-mode="sfu"]:not([data-media-switch])', { state: 'attached', timeout: 60_000 });
    await h.waitForRemoteVideos(p.page, 2, { timeout: 90_000 });
    assert.equal(await h.openPeerConnections(p.page), 1, `${p.name} is left with its one connection to the SFU`);
  }
  return all;
}

const sampleBoth = async (page) => {
  await h.sampleGaps(page, 'video');
  await h.sampleGaps(page, 'audio');
};

/**
 * Asserts no remote tile of these pages went more than 1 s without a frame, nor a camera tile
 * without audio, and prints the figures.
 */
async function assertNoFreeze(participants, what) {
  for (const kind of ['video', 'audio']) {
    const figures = [];
    for (const p of participants) {
      const tiles = await h.gaps(p.page, kind);
      if (kind === 'audio') {
        const cameras = await p.page.locator('[data-participant]:not([data-local])').count();
        assert.equal(tiles.length, cameras, `${p.name} heard every remote camera tile`);
      }
      for (const tile of tiles) {
        figures.push(`${p.name}<-${tile.id.slice(0, 4)}: ${tile.maxGapMs} ms`);
        assert.ok(tile.maxGapMs <= MAX_FREEZE_MS, `${p.name}'s ${kind} stopped ${tile.maxGapMs} ms on ${tile.id} (${what})`);
      }
    }
    console.log(`${what}: longest ${kind} gap per remote tile: ${figures.join(', ')}`);
  }
}

test('a third joiner moves an auto room to the SFU without freezing anyone; a leave does not flap', { timeout: 600_000 }, () =>
  h.scenario('auto-switch-up', async (s) => {
    await s.startServer();
    const [ada, bo, cy] = await growToThree(s, h.roomName('auto'));
    await h.sleep(2_000);
    await assertNoFreeze([ada, bo, cy], 'mesh -> sfu');

    await cy.page.click('[data-action="leave"]');
    // Within the hold (30 s by default) the room stays in the SFU: nothing renegotiates.
    await h.sleep(5_000);
    for (const p of [ada, bo]) {
      assert.equal(await p.page.getAttribute('body', 'data-media-mode'), 'sfu', `${p.name} stays in the SFU`);
      assert.equal(await p.page.getAttribute('body', 'data-media-switch'), null, `${p.name} does not switch`);
      await h.waitForRemoteVideos(p.page, 1, { timeout: 20_000 });
    }
    await assertNoFreeze([ada, bo], 'after the leave');
  }),
);

test('after the hold, a room of two goes back to the mesh without freezing', { timeout: 600_000 }, () =>
  h.scenario('auto-switch-down', async (s) => {
    await s.startServer({ args: ['--sfu-hold', '3'] });
    const [ada, bo, cy] = await growToThree(s, h.roomName('down'));
    await cy.page.click('[data-action="leave"]');
    for (const p of [ada, bo]) {
      await p.page.waitForSelector('body[data-media-mode="mesh"]:not([data-media-switch])', { state: 'attached', timeout: 60_000 });
    }
    for (const p of [ada, bo]) {
      await h.waitForRemoteVideos(p.page, 1, { timeout: 60_000 });
      assert.equal(await h.openPeerConnections(p.page), 1, `${p.name} is left with its one peer connection`);
    }
    await h.sleep(2_000);
    await assertNoFreeze([ada, bo], 'mesh -> sfu -> mesh');
  }),
);

test('a screen share keeps playing across the switch to the SFU', { timeout: 300_000 }, () =>
  h.scenario('auto-switch-screen', async (s) => {
    await s.startServer();
    const room = h.roomName('screen-switch');
    const [ada, bo] = await s.joinAll(room, ['ada', 'bo']);
    await h.waitForRemoteVideos(bo.page, 1, { timeout: 90_000 });
    await ada.page.click('[data-action="share-screen"]');
    await h.waitUntil('bo to decode ada\'s screen in the mesh', async () => {
      const [screen] = await h.framesAdvancing(bo.page, { selector: '[data-screen]', windowMs: 1_000 });
      return screen && screen.advancing;
    }, { timeout: 30_000 });
    await sampleBoth(bo.page);
    await s.joinAll(room, ['cy']);
    await bo.page.waitForSelector('body[data-media-mode="sfu"]:not([data-media-switch])', { state: 'attached', timeout: 60_000 });
    await h.sleep(2_000);
    const gaps = await h.gaps(bo.page, 'video');
    assert.ok(gaps.some((tile) => tile.id.startsWith('screen:')), `bo measured the screen tile: ${JSON.stringify(gaps)}`);
    await assertNoFreeze([bo], 'mesh -> sfu with a screen share');
    assert.equal(await h.openPeerConnections(bo.page), 1, 'bo is left with its one connection to the SFU');
  }),
);
