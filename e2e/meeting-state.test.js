// What everyone sees about the meeting: its title (set on one page, shown on the others and to a
// late joiner), raised hands in order, reactions, and the people list with mic and camera state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { openPane } from './meeting.js';

test('title, raised hands and reactions are seen by everybody', { timeout: 240_000 }, () =>
  h.scenario('meeting-state', async (s) => {
    await s.startServer();
    const room = h.roomName('state');
    const [ada, bo] = await s.joinAll(room, ['ada', 'bo']);
    const adaId = await h.ownId(ada.page);
    const boId = await h.ownId(bo.page);

    await ada.page.click('[data-room-title]');
    await ada.page.fill('[data-title-input]', 'Quarterly planning');
    await ada.page.press('[data-title-input]', 'Enter');
    await h.waitUntil('the title on bo\'s page', async () =>
      (await bo.page.textContent('[data-room-title]')) === 'Quarterly planning', { timeout: 10_000 });

    // Hands: bo first, then ada; the queue keeps that order on every page.
    await bo.page.click('[data-action="raise-hand"]');
    await ada.page.waitForSelector(`${h.tileOf(boId)}[data-hand="1"]`);
    await ada.page.click('[data-action="raise-hand"]');
    await openPane(bo.page, 'people');
    await h.waitUntil('both hands in bo\'s queue', async () => {
      const queue = await bo.page.$$eval('[data-hand-queue] [data-hand]', (items) => items.map((item) => item.getAttribute('data-hand')));
      return queue.join() === [boId, adaId].join();
    }, { timeout: 10_000 });

    const cy = await s.join(room, 'cy');
    await h.waitConnected(cy.page);
    await h.waitUntil('the title for the late joiner', async () =>
      (await cy.page.textContent('[data-room-title]')) === 'Quarterly planning', { timeout: 10_000 });
    await cy.page.waitForSelector(`${h.tileOf(adaId)}[data-hand="2"]`);
    await openPane(cy.page, 'people');
    assert.equal(await cy.page.locator('[data-people] [data-person]').count(), 3);

    // Bo lowers the hand: ada moves up.
    await bo.page.click('[data-action="raise-hand"]');
    await cy.page.waitForSelector(`${h.tileOf(adaId)}[data-hand="1"]`);
    // Mic off shows in the people list.
    await ada.page.click('[data-action="toggle-audio"]');
    await cy.page.waitForSelector(`[data-person="${adaId}"][data-audio="off"]`);

    // A reaction floats over the sender's tile on the other pages.
    await ada.page.click('[data-action="react"]');
    await ada.page.click('[data-emoji="🎉"]');
    await bo.page.waitForSelector(`${h.tileOf(adaId)}[data-reaction="🎉"]`, { timeout: 10_000 });
  }),
);
