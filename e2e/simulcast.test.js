// Three-layer simulcast through the real SFU. ada's camera is 1280x720 (the client's default
// quality; the rest of the suite asks for 320x180, one layer), so Chromium sends the rids q, h and
// f at 320x180, 640x360 and 1280x720. Each subscriber gets the layer its tile's size asks for: bo,
// in a small window, decodes q; shown large (a big window, ada pinned) the SFU switches him up to
// f, and back down to q when small again, while cy, whose tile stays medium, decodes h throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

const SFU_ARGS = ['--media-mode', 'sfu'];
// 720p in three layers is the heaviest thing the suite encodes: 10 fps keeps it within 2 cores.
// (The flag is the harness's fake camera flag again; Chromium takes the last one.)
const PUBLISHER_ARGS = ['--use-fake-device-for-media-stream=device-count=3,fps=10'];
const DECLARED = ['q', 'h', 'f'];
const SMALL = { width: 520, height: 420 };
const LARGE = { width: 1280, height: 720 };

/** The width of the frames `participant` decodes from `id`'s camera, once they advance. */
async function decodedWidth(participant, id) {
  const before = await h.tileInboundVideo(participant.page, id);
  await h.sleep(1_000);
  const after = await h.tileInboundVideo(participant.page, id);
  return before && after && after.framesDecoded > before.framesDecoded ? after.frameWidth : 0;
}

/** Waits until `participant` decodes `id`'s camera at `width`; returns what it saw on the way. */
async function waitDecodedWidth(participant, id, width, why) {
  const seen = [];
  await h.waitUntil(`${participant.name} to decode ${width}-wide frames (${why})`, async () => {
    const now = await decodedWidth(participant, id);
    seen.push(now);
    if (now === width) return true;
    throw new Error(`decoded widths so far: ${JSON.stringify(seen)}`);
  }, { timeout: 45_000, interval: 500 });
  return seen;
}

test('a 720p camera sends three layers; each subscriber decodes the one its tile size asks for', { timeout: 240_000 }, () =>
  h.scenario('simulcast', async (s) => {
    await s.startServer({ args: SFU_ARGS });
    const room = h.roomName('simulcast');
    const ada = await s.join(room, 'ada', { quality: 'default' }, { extraArgs: PUBLISHER_ARGS, microphone: 'silence' });
    await h.waitConnected(ada.page);
    const bo = await s.join(room, 'bo', {}, { microphone: 'silence' });
    await bo.page.setViewportSize(SMALL);
    const cy = await s.join(room, 'cy', {}, { microphone: 'silence' });
    for (const p of [bo, cy]) await h.waitConnected(p.page);
    const adaId = await h.ownId(ada.page);

    // ada sends three active layers, each twice the size of the one below.
    const layers = await h.waitUntil('ada to send three layers, each advancing', async () => {
      const first = await h.outboundLayers(ada.page);
      await h.sleep(1_000);
      const now = await h.outboundLayers(ada.page);
      const sent = DECLARED.map((rid) => now.find((l) => l.rid === rid));
      const moving = sent.every((l) => l && l.active !== false && l.framesEncoded > (first.find((f) => f.rid === l.rid)?.framesEncoded ?? 0));
      if (moving) return sent;
      throw new Error(`sending: ${JSON.stringify(now)}`);
    }, { timeout: 60_000, interval: 1_000 });
    console.log(`ada sends ${layers.map((l) => `${l.rid} ${l.width}x${l.height} @ ${l.fps} fps`).join(', ')}`);
    assert.deepEqual(layers.map((l) => l.width), [320, 640, 1280], `layer widths: ${JSON.stringify(layers)}`);
    assert.deepEqual(layers.map((l) => l.height), [180, 360, 720]);

    // bo's tile is small: q. cy's is medium (1280x720 window, a grid of three): h.
    await waitDecodedWidth(bo, adaId, 320, 'small tile');
    await waitDecodedWidth(cy, adaId, 640, 'medium tile');

    // bo makes ada large: a big window and her tile pinned. The SFU switches him up to f.
    await bo.page.setViewportSize(LARGE);
    await bo.page.click(`${h.tileOf(adaId)} [data-pin]`);
    await bo.page.waitForSelector(`${h.tileOf(adaId)}[data-featured]`, { timeout: 5_000 });
    const up = await waitDecodedWidth(bo, adaId, 1280, 'large tile');
    console.log(`bo large: decoded widths on the way up ${JSON.stringify(up)}`);
    assert.equal(await decodedWidth(cy, adaId), 640, 'cy still decodes h');

    // And small again: back down to q.
    await bo.page.click(`${h.tileOf(adaId)} [data-pin]`);
    await bo.page.setViewportSize(SMALL);
    const down = await waitDecodedWidth(bo, adaId, 320, 'small again');
    console.log(`bo small again: decoded widths on the way down ${JSON.stringify(down)}`);
  }),
);
