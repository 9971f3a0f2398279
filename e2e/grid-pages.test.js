// Grid pages in an sfu room. With `?page_size=1`, ada sees one remote tile at a time; the other is
// on page 2, not shown, and its video stops reaching her (the page reports it `visible: false` in
// `view` and the SFU pauses it) until she turns the page. Without it, a page holds as many tiles as
// fit the grid at 240x135 or more: pages of different window sizes in one room of 5 page
// differently, and a resized page pages anew, keeping the tile it showed in view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const SFU_ARGS = ['--media-mode', 'sfu'];

/** Frames decoded so far from `id`'s camera (a hidden tile's <video> may not count, the receiver does). */
const framesDecoded = async (page, id) => (await h.tileInboundVideo(page, id))?.framesDecoded ?? null;

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

/** Remote tiles per page and what the grid has to fill, as the page lays them out. */
const gridGeometry = (page) => page.evaluate(() => {
  const grid = document.querySelector('[data-grid]');
  const style = getComputedStyle(grid);
  const px = (value) => parseFloat(value) || 0;
  const shown = [...document.querySelectorAll('[data-participant]:not([data-local])')].filter((tile) => !tile.hidden);
  return {
    pageSize: Number(grid.dataset.pageSize),
    width: grid.clientWidth - px(style.paddingLeft) - px(style.paddingRight),
    height: grid.clientHeight - px(style.paddingTop) - px(style.paddingBottom),
    gap: px(style.columnGap),
    shown: shown.map((tile) => tile.getAttribute('data-participant')),
    narrowest: Math.min(...shown.map((tile) => tile.getBoundingClientRect().width)),
  };
});

/**
 * Remote tiles a page of this size holds with tiles of at least 240x135 CSS px (pages.js), our
 * own tile being on every page: the product's promise, worked out apart from its code.
 */
const fittingPageSize = ({ width, height, gap }) =>
  Math.max(1, Math.floor((width + gap) / (240 + gap)) * Math.floor((height + gap) / (135 + gap)) - 1);

/** Waits until the page's grid is laid out for its current size; returns the geometry. */
async function settledGeometry(participant, remotes) {
  return h.waitUntil(`${participant.name}'s grid to fit its size`, async () => {
    const geometry = await gridGeometry(participant.page);
    const pages = Math.ceil(remotes / geometry.pageSize);
    const at = await pageIndicator(participant.page);
    return geometry.pageSize === fittingPageSize(geometry) && at.pages === String(pages)
      && geometry.shown.length === Math.min(geometry.pageSize, remotes) && geometry;
  }, { timeout: 10_000 });
}

/** Waits until exactly `on` of `ids` decode on this page and the others do not. */
async function decodingOnly(page, ids, on) {
  await h.waitUntil(`frames of ${JSON.stringify(on)} only`, async () => {
    const flowing = [];
    for (const id of ids) if (await receiving(page, id, 1_000)) flowing.push(id);
    if (flowing.length === on.length && on.every((id) => flowing.includes(id))) return true;
    throw new Error(`decoding: ${JSON.stringify(flowing)}`);
  }, { timeout: 40_000, interval: 500 });
}

test('the page size follows the grid: as many tiles as fit, per viewport, recomputed on resize', { timeout: 300_000 }, () =>
  h.scenario('grid-pages-fit', async (s) => {
    await s.startServer({ args: SFU_ARGS });
    const room = h.roomName('fit');
    // Silent microphones: an active speaker would lead the first page.
    const people = [];
    for (const name of ['ada', 'bo', 'cy', 'dee', 'eve']) {
      const participant = await s.join(room, name, {}, { microphone: 'silence' });
      await h.waitConnected(participant.page);
      people.push(participant);
    }
    const [ada, bo] = people;
    /** Whom bo sees: everybody else. */
    const boSees = [];
    for (const p of people.filter((other) => other !== bo)) boSees.push(await h.ownId(p.page));
    await bo.page.setViewportSize({ width: 520, height: 420 });
    await h.waitForRemoteVideos(ada.page, 4, { timeout: 90_000 });

    // A 1280x720 page holds all four others; a 520x420 one, the same room, fewer per page.
    const large = await settledGeometry(ada, 4);
    const small = await settledGeometry(bo, 4);
    console.log(`page sizes: 1280x720 -> ${large.pageSize} (grid ${large.width}x${large.height}), 520x420 -> ${small.pageSize} (grid ${small.width}x${small.height})`);
    assert.ok(large.pageSize >= 4 && small.pageSize < 4, `sizes ${large.pageSize} and ${small.pageSize}`);
    assert.equal((await pageIndicator(ada.page)).shown, false, 'ada has no pager');
    assert.equal((await pageIndicator(bo.page)).shown, true, 'bo pages');
    for (const geometry of [large, small]) assert.ok(geometry.narrowest >= 239, `tiles no narrower than 240 px: ${JSON.stringify(geometry)}`);

    // bo looks at page 2: its tiles decode, the others are paused by the SFU.
    await bo.page.click('[data-action="page-next"]');
    const before = await settledGeometry(bo, 4);
    await decodingOnly(bo.page, boSees, before.shown);
    const looking = before.shown[0];

    // A larger window: more tiles per page, and the tile bo looked at stays in view.
    await bo.page.setViewportSize({ width: 640, height: 520 });
    const after = await settledGeometry(bo, 4);
    console.log(`bo resized to 640x520: page size ${before.pageSize} -> ${after.pageSize} (grid ${after.width}x${after.height})`);
    assert.ok(after.pageSize > before.pageSize, `page size grew: ${before.pageSize} -> ${after.pageSize}`);
    assert.ok(after.shown.includes(looking), `the tile bo looked at is still shown: ${JSON.stringify(after)}`);
    await decodingOnly(bo.page, boSees, after.shown);
    const hiddenIds = boSees.filter((id) => !after.shown.includes(id));
    assert.ok(hiddenIds.length > 0, 'some tiles are still on another page');
    const reported = bo.sentViews.at(-1).tiles.filter((t) => (t.source ?? 'camera') === 'camera' && !t.visible).map((t) => t.participant);
    assert.deepEqual(reported.sort(), hiddenIds.sort(), 'bo reports exactly the off-page tiles hidden');
  }),
);
