// A whiteboard stroke drawn on one page appears live on another, and whole on a late joiner's
// board; the PNG export holds it too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { boardAlphaAt } from './meeting.js';

async function openBoard(page) {
  if ((await page.getAttribute('[data-action="whiteboard"]', 'aria-pressed')) !== 'true') {
    await page.click('[data-action="whiteboard"]');
  }
  await page.waitForSelector('[data-whiteboard]', { state: 'visible' });
}

/** Drags the mouse across the board from (x0, y0) to (x1, y1), in board coordinates. */
async function drawStroke(page, [x0, y0], [x1, y1]) {
  const box = await page.locator('[data-whiteboard]').boundingBox();
  const at = (x, y) => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(x0, y0));
  await page.mouse.down();
  for (let step = 1; step <= 20; step += 1) {
    const t = step / 20;
    await page.mouse.move(...at(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t));
    await h.sleep(15);
  }
  await page.mouse.up();
}

const drawnAt = (page, x, y) => h.waitUntil(`the stroke at (${x}, ${y}) on the board`,
  async () => (await boardAlphaAt(page, x, y)) > 0, { timeout: 20_000, interval: 200 });

test('a stroke reaches another page live and a late joiner whole', { timeout: 240_000 }, () =>
  h.scenario('whiteboard', async (s) => {
    await s.startServer();
    const room = h.roomName('board');
    const [ada, bo] = await s.joinAll(room, ['ada', 'bo']);
    await openBoard(ada.page);
    await openBoard(bo.page);
    assert.equal(await boardAlphaAt(bo.page, 0.5, 0.5), 0, 'the board starts empty');

    await ada.page.click('[data-color="#e5484d"]');
    await drawStroke(ada.page, [0.2, 0.5], [0.8, 0.5]);
    await drawnAt(bo.page, 0.5, 0.5);
    assert.equal(await boardAlphaAt(bo.page, 0.5, 0.2), 0, 'only where it was drawn');
    // A rectangle, sent when released.
    await ada.page.click('[data-tool="rect"]');
    await drawStroke(ada.page, [0.1, 0.1], [0.3, 0.3]);
    await drawnAt(bo.page, 0.2, 0.1);

    const cy = await s.join(room, 'cy');
    await h.waitConnected(cy.page);
    await openBoard(cy.page);
    await drawnAt(cy.page, 0.5, 0.5);
    await drawnAt(cy.page, 0.2, 0.1);
    // The board scales with the canvas: a narrower window shows the same drawing.
    await cy.page.setViewportSize({ width: 800, height: 600 });
    await drawnAt(cy.page, 0.5, 0.5);
    assert.equal(await cy.page.getAttribute('[data-whiteboard]', 'data-items'), '2');

    // The export is a PNG with the stroke on it.
    const [download] = await Promise.all([
      cy.page.waitForEvent('download'),
      cy.page.click('[data-board-action="export"]'),
    ]);
    assert.match(download.suggestedFilename(), /\.png$/);

    // Undo takes back bo's own last item only; clear (confirmed) empties every board.
    await openBoard(bo.page);
    await bo.page.click('[data-board-action="undo"]');
    await h.sleep(500);
    assert.equal(await ada.page.getAttribute('[data-whiteboard]', 'data-items'), '2', "bo's undo leaves ada's items");
    await ada.page.click('[data-board-action="undo"]');
    await h.waitUntil('the rectangle gone everywhere', async () =>
      (await bo.page.getAttribute('[data-whiteboard]', 'data-items')) === '1', { timeout: 10_000 });
    await bo.page.click('[data-board-action="clear"]');
    await bo.page.click('[data-clear-confirm]');
    for (const p of [ada, bo, cy]) {
      await h.waitUntil(`${p.name}'s board empty`, async () => (await boardAlphaAt(p.page, 0.5, 0.5)) === 0, { timeout: 10_000 });
    }
  }),
);
