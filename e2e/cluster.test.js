// Cluster mode in browsers (docs/cluster.md): three nodes behind haproxy, pages coming in through
// it. Draining the room's home moves a three-page call to another node without any remote video
// or audio stopping for more than 1 s (measured on every page as in auto-switch.test.js), chat and
// whiteboard intact; a home killed with SIGKILL loses its pages' media, and they are back with
// video on the room's new home within 15 s through the entry address, chat history whole; Redis
// restarted empty under a call changes nothing the pages see, and the home takes its lease again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { Cluster } from './cluster.js';
import { chatMessages, sendChat, waitForChat } from './meeting.js';

const MAX_FREEZE_MS = 1_000;
const BACK_WITHIN_MS = 15_000;

async function openBoard(page) {
  await page.click('[data-action="whiteboard"]');
  await page.waitForSelector('[data-whiteboard]', { state: 'visible' });
}

/** Drags a line across the middle of the board. */
async function drawLine(page) {
  const box = await page.locator('[data-whiteboard]').boundingBox();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
  await page.mouse.down();
  for (let step = 1; step <= 10; step += 1) {
    await page.mouse.move(box.x + box.width * (0.2 + 0.06 * step), box.y + box.height / 2);
    await h.sleep(15);
  }
  await page.mouse.up();
}

const boardItems = (page) => page.getAttribute('[data-whiteboard]', 'data-items');

/** Asserts no remote tile of these pages went more than 1 s without a frame or an audio packet. */
async function assertNoGap(pages, tilesEach, what) {
  for (const kind of ['video', 'audio']) {
    const figures = [];
    for (const p of pages) {
      const tiles = await h.gaps(p.page, kind);
      assert.equal(tiles.length, tilesEach, `${p.name} measured every remote tile's ${kind}`);
      for (const tile of tiles) {
        figures.push(`${p.name}<-${tile.id.slice(0, 4)}: ${tile.maxGapMs} ms`);
        assert.ok(tile.maxGapMs <= MAX_FREEZE_MS, `${p.name}'s ${kind} from ${tile.id} stopped ${tile.maxGapMs} ms (${what})`);
      }
    }
    console.log(`${what}: longest ${kind} gap per remote tile: ${figures.join(', ')}`);
  }
}

/** Starts sampling every remote tile's frames and audio packets on these pages. */
async function sampleGaps(pages) {
  for (const p of pages) {
    await h.sampleGaps(p.page, 'video');
    await h.sampleGaps(p.page, 'audio');
  }
}

test('draining the home moves a call to another node with no gap over 1 s, chat and whiteboard intact', { timeout: 600_000 }, () =>
  h.scenario('cluster-drain', async (s) => {
    s.cluster = await Cluster.start(['a', 'b', 'c']);
    const room = h.roomName('drain');
    const pages = await s.joinAll(room, ['ada', 'bo', 'cy']);
    const [ada, bo] = pages;
    for (const p of pages) await h.waitForRemoteVideos(p.page, 2, { timeout: 90_000 });
    await sendChat(ada.page, 'before the move');
    for (const p of pages) await waitForChat(p.page, 'before the move');
    await openBoard(ada.page);
    await openBoard(bo.page);
    await drawLine(ada.page);
    await h.waitUntil('the line on bo\'s board', async () => (await boardItems(bo.page)) === '1');
    await sampleGaps(pages);
    await h.sleep(1_000);

    const home = s.cluster.home(room);
    assert.ok(home, 'the room has a home');
    const started = Date.now();
    console.log(await s.cluster.drain(home));
    const next = s.cluster.home(room);
    assert.ok(next && next !== home, `the room moved from ${home} (now ${next})`);
    for (const p of pages) {
      await p.page.waitForSelector('body[data-connection="connected"]:not([data-moving])', { state: 'attached', timeout: 30_000 });
      await h.waitForRemoteVideos(p.page, 2, { timeout: 30_000 });
    }
    console.log(`drained ${home} in ${Date.now() - started} ms; the room is on ${next}`);
    await h.sleep(1_000);
    await assertNoGap(pages, 2, 'drain');
    await sendChat(bo.page, 'after the move');
    for (const p of pages) {
      await waitForChat(p.page, 'after the move');
      const texts = (await chatMessages(p.page)).map((m) => m.text);
      assert.deepEqual(texts, ['before the move', 'after the move'], `${p.name}'s chat is whole`);
    }
    assert.equal(await boardItems(bo.page), '1', 'the whiteboard came along');
    await drawLine(bo.page);
    await h.waitUntil('the second line on ada\'s board', async () => (await boardItems(ada.page)) === '2');
  }),
);

test('a home killed outright: its pages are back with video on the new home within 15 s, chat whole', { timeout: 600_000 }, () =>
  h.scenario('cluster-kill', async (s) => {
    s.cluster = await Cluster.start(['a', 'b', 'c'], ['--media-mode', 'sfu']);
    const room = h.roomName('kill');
    const pages = await s.joinAll(room, ['ada', 'bo']);
    for (const p of pages) await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
    for (const text of ['one', 'two']) {
      await sendChat(pages[0].page, text);
      for (const p of pages) await waitForChat(p.page, text);
    }
    const before = await Promise.all(pages.map((p) => h.ownId(p.page)));
    const home = s.cluster.home(room);
    s.cluster.node(home).server.child.kill('SIGKILL');
    const killed = Date.now();
    const backAfter = [];
    for (const [i, p] of pages.entries()) {
      await h.waitUntil(`${p.name} to join again`, async () =>
        (await p.page.getAttribute('body', 'data-connection')) === 'connected' && (await h.ownId(p.page)) !== before[i],
      { timeout: 30_000, interval: 100 });
      await h.waitForRemoteVideos(p.page, 1, { timeout: 30_000 });
      backAfter.push(Date.now() - killed);
    }
    console.log(`kill -9 of ${home}: video back after ${backAfter.join(', ')} ms; the room is on ${s.cluster.home(room)}`);
    for (const [i, ms] of backAfter.entries()) assert.ok(ms <= BACK_WITHIN_MS, `${pages[i].name} back after ${ms} ms`);
    for (const p of pages) {
      const texts = (await chatMessages(p.page)).map((m) => m.text);
      assert.deepEqual(texts, ['one', 'two'], `${p.name}'s chat history is whole`);
    }
  }),
);

test('Redis restarted empty under a call: nothing stops, and the home takes its lease again', { timeout: 300_000 }, () =>
  h.scenario('cluster-redis-restart', async (s) => {
    s.cluster = await Cluster.start(['a', 'b'], ['--media-mode', 'sfu']);
    const room = h.roomName('redis');
    const pages = await s.joinAll(room, ['ada', 'bo']);
    for (const p of pages) await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
    const home = s.cluster.home(room);
    await sampleGaps(pages);
    await h.sleep(1_000);
    await s.cluster.restartRedis(4_000);
    await h.waitUntil('the home to hold the room\'s lease again', async () => s.cluster.home(room) !== null,
      { timeout: 20_000 });
    assert.equal(s.cluster.home(room), home, 'the same home: the room never had two');
    await sendChat(pages[0].page, 'still here');
    await waitForChat(pages[1].page, 'still here');
    await assertNoGap(pages, 1, 'redis restart');
    for (const { id, server } of s.cluster.nodes) {
      await h.waitUntil(`node ${id} ready again`, async () => (await fetch(`${server.url}/readyz`)).status === 200,
        { timeout: 10_000 });
    }
  }),
);
