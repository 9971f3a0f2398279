// Leaving, closing a tab and a browser dying: the others stop showing the participant.
import { test } from 'node:test';
import * as h from './harness.js';

/** Resolves when the tile of `id` is gone from every page, rejects after `ms`. */
const goneEverywhere = (participants, id, ms) =>
  Promise.all(participants.map((p) => p.page.waitForSelector(h.tileOf(id), { state: 'detached', timeout: ms })));

test('leave removes the tile from the others within 2 s', { timeout: 240_000 }, () =>
  h.scenario('leave', async (s) => {
    await s.startServer();
    const [ada, bo, cy] = await s.joinAll(h.roomName('leave'), ['ada', 'bo', 'cy']);
    await h.waitForRemoteVideos(bo.page, 2, { timeout: 90_000 });
    const adaId = await h.ownId(ada.page);

    const gone = goneEverywhere([bo, cy], adaId, 2_000);
    await ada.page.click('[data-action="leave"]');
    await gone;
    await ada.page.waitForSelector('body[data-connection="closed"]', { state: 'attached', timeout: 5_000 });
    // Those who stay keep their call.
    await h.waitForRemoteVideos(bo.page, 1, { timeout: 20_000 });
    await h.waitForRemoteVideos(cy.page, 1, { timeout: 20_000 });
  }),
);

test('a closed tab and a killed browser disappear from the others within 10 s', { timeout: 240_000 }, () =>
  h.scenario('closed-tab', async (s) => {
    await s.startServer();
    const [ada, bo, cy] = await s.joinAll(h.roomName('closed'), ['ada', 'bo', 'cy']);
    await h.waitForRemoteVideos(ada.page, 2, { timeout: 90_000 });
    const boId = await h.ownId(bo.page);
    const cyId = await h.ownId(cy.page);

    let gone = goneEverywhere([ada, cy], boId, 10_000);
    await bo.closeTab();
    await gone;

    // No unload, no close frame: only the kernel closing the socket (or nothing at all reaching
    // the peer connection) tells the others.
    gone = goneEverywhere([ada], cyId, 10_000);
    cy.crash();
    await gone;
    await h.waitConnected(ada.page, 1_000);
  }),
);
