// Grid pages in an sfu room: with `?page_size=1`, ada sees one remote tile at a time; the other is
// on page 2, not shown, and its video stops reaching her (the page reports it `visible: false` in
// `view` and the SFU pauses it) until she turns the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const SFU_ARGS = ['--media-mode', 'sfu'];

/**
 * Frames decoded so far from `id`'s camera, read from the inbound-rtp stats of the receiver whose
 * track the tile shows (a hidden tile's <video> may not count frames, the receiver does).
 */
function framesDecoded(page, id) {
  return page.evaluate(async (tileId) => {
    const video = document.querySelector(`[data-participant="${tileId}"] video`);
    const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
    if (!track) return null;
    for (const pc of window.__e2e.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      const receiver = pc.getReceivers().find((r) => r.track === track);
      if (!receiver) continue;
      let frames = null;
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded;
      });
      return frames;
    }
    return null;
  }, id);
}

/** Whether `id`'s video frames still arrive: framesDecoded over `windowMs`. */
async function receiving(page, id, windowMs = 1_500) {
  const before = await framesDecoded(page, id);
  await h.sleep(windowMs);
  const after = await framesDecoded(page, id);
  return before !== null && after !== null && after > before;
}

const pageIndicator = (page) => page.evaluate(() => {
  const indicator = document.querySelector('[data-page]');
  const pager = document.querySelector('[data-pager]');
  return { page: indicator.dataset.page, pages: indicator.dataset.pages, shown: !pager.hidden };
});

test('grid pages: off-page tiles are hidden and paused, paging brings them back', { timeout: 180_000 }, () =>
  h.scenario('grid-pages', async (s) => {
    await s.startServer({ args: SFU_ARGS });
    const room = h.roomName('pages');
    const ada = await s.join(room, 'ada', { page_size: '1' });
    await h.waitConnected(ada.page);
    const [bo, cy] = await s.joinAll(room, ['bo', 'cy']);
    // Silent microphones: the active speaker would lead the first page, and these test paging.
    for (const p of [bo, cy]) await p.page.click('[data-action="toggle-audio"]');
    const [boId, cyId] = [await h.ownId(bo.page), await h.ownId(cy.page)];
    await ada.page.waitForSelector(h.tileOf(cyId), { state: 'attached' });

    // Page 1 shows bo (first come), cy waits on page 2.
    await h.waitUntil('ada on page 1 of 2', async () => {
      const at = await pageIndicator(ada.page);
      return at.shown && at.page === '1' && at.pages === '2';
    });
    assert.equal(await ada.page.isVisible(h.tileOf(boId)), true, 'bo is on page 1');
    assert.equal(await ada.page.isVisible(h.tileOf(cyId)), false, 'cy is not shown on page 1');
    await h.waitUntil('bo\'s video to reach ada', () => receiving(ada.page, boId), { timeout: 60_000 });
    await h.waitUntil('cy\'s video to stop reaching ada', async () => !(await receiving(ada.page, cyId)), { timeout: 20_000 });
    const hidden = ada.sentViews.at(-1).tiles.find((t) => t.participant === cyId && (t.source ?? 'camera') === 'camera');
    assert.equal(hidden?.visible, false, `ada reported cy's tile hidden: ${JSON.stringify(ada.sentViews.at(-1))}`);

    // Page 2: cy shows and flows, bo stops.
    await ada.page.click('[data-action="page-next"]');
    assert.deepEqual(await pageIndicator(ada.page), { page: '2', pages: '2', shown: true });
    assert.equal(await ada.page.isVisible(h.tileOf(cyId)), true, 'cy is on page 2');
    assert.equal(await ada.page.isVisible(h.tileOf(boId)), false, 'bo is not shown on page 2');
    await h.waitUntil('cy\'s video to reach ada again', () => receiving(ada.page, cyId), { timeout: 20_000 });
    await h.waitUntil('bo\'s video to stop reaching ada', async () => !(await receiving(ada.page, boId)), { timeout: 20_000 });
    await h.waitUntil('cy\'s tile to play', async () => {
      const [tile] = await h.framesAdvancing(ada.page, { selector: h.tileOf(cyId), windowMs: 1_000 });
      return tile && tile.advancing;
    }, { timeout: 20_000 });

    // And back: bo resumes.
    await ada.page.click('[data-action="page-prev"]');
    assert.equal((await pageIndicator(ada.page)).page, '1');
    await h.waitUntil('bo\'s video to reach ada again', () => receiving(ada.page, boId), { timeout: 20_000 });
    // bo and cy, with the default page size, see everyone on one page.
    for (const p of [bo, cy]) assert.equal((await pageIndicator(p.page)).shown, false, `${p.name} has no pager`);
  }),
);
