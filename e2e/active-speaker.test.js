// The active speaker from real audio levels: in an sfu room of 3, ada's fake microphone plays a
// loud tone and the others' play silence. The SFU picks ada from the audio-level header extension
// (`active_speaker`); every page outlines her tile ([data-speaking]), nobody else's, and following
// the speaker shows her tile large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const SFU_ARGS = ['--media-mode', 'sfu'];

/** The participant ids whose tiles the page marks speaking. */
const speaking = (page) => page.evaluate(() =>
  [...document.querySelectorAll('[data-participant][data-speaking]')].map((tile) => tile.getAttribute('data-participant')));

test('every page outlines the loud speaker; following the speaker shows her large', { timeout: 180_000 }, () =>
  h.scenario('active-speaker', async (s) => {
    await s.startServer({ args: SFU_ARGS });
    const room = h.roomName('speaker');
    // The silent come first: ada can only become the speaker by being louder.
    const pages = [];
    for (const [name, microphone] of [['bo', 'silence'], ['cy', 'silence'], ['ada', 'tone']]) {
      const participant = await s.join(room, name, {}, { microphone });
      await h.waitConnected(participant.page);
      pages.push(participant);
    }
    const [bo, cy, ada] = pages;
    const adaId = await h.ownId(ada.page);
    for (const p of pages) {
      await h.waitUntil(`${p.name} to outline ada alone as speaking`, async () => {
        const ids = await speaking(p.page);
        return ids.length === 1 && ids[0] === adaId ? ids : false;
      }, { timeout: 60_000 });
    }

    // Follow the speaker: ada's tile is shown large, the others small.
    await bo.page.click('[data-action="follow-speaker"]');
    assert.equal(await bo.page.getAttribute('[data-action="follow-speaker"]', 'aria-pressed'), 'true');
    await bo.page.waitForSelector(`${h.tileOf(adaId)}[data-featured]`, { timeout: 5_000 });
    const cyId = await h.ownId(cy.page);
    const large = await bo.page.locator(h.tileOf(adaId)).boundingBox();
    const small = await bo.page.locator(h.tileOf(cyId)).boundingBox();
    assert.ok(large && small && large.width > 3 * small.width, `ada large (${large?.width}px), cy small (${small?.width}px)`);
    // And back to the grid.
    await bo.page.click('[data-action="follow-speaker"]');
    await bo.page.waitForSelector('[data-featured]', { state: 'detached', timeout: 5_000 });
  }),
);
