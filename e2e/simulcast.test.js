// Three-layer simulcast through the real SFU. ada's camera is 1280x720 (the client's default
// quality; the rest of the suite asks for 320x180, one layer), so Chromium sends the rids q, h and
// f at 320x180, 640x360 and 1280x720. bo gets the layer his tile's size asks for: in a small window
// he decodes q; in a large one h (a grid of two); with ada pinned large the SFU switches him up to
// f, and back down to q when small again. One subscriber: its whole bandwidth estimate goes to
// ada's camera, so the top layer does not wait on an estimate shared with other tiles.
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

/**
 * Waits until `subscriber` decodes `publisher`'s camera (whose tile is `id`) at `width`; returns
 * the widths seen on the way. A timeout says what the publisher was sending meanwhile.
 */
async function waitDecodedWidth(subscriber, publisher, id, width, why) {
  const seen = [];
  await h.waitUntil(`${subscriber.name} to decode ${width}-wide frames (${why})`, async () => {
    const now = await decodedWidth(subscriber, id);
    seen.push(now);
    if (now === width) return true;
    const sending = (await h.outboundLayers(publisher.page)).map(({ rid, width: w, fps, limitation }) => ({ rid, w, fps, limitation }));
    throw new Error(`decoded widths so far: ${JSON.stringify(seen)}; ${publisher.name} sends ${JSON.stringify(sending)}`);
  }, { timeout: 45_000, interval: 500 });
  return seen;
}

test('a 720p camera sends three layers; the subscriber decodes the one its tile size asks for', { timeout: 240_000 }, () =>
  h.scenario('simulcast', async (s) => {
    await s.startServer({ args: SFU_ARGS });
    const room = h.roomName('simulcast');
    const ada = await s.join(room, 'ada', { quality: 'default' }, { extraArgs: PUBLISHER_ARGS, microphone: 'silence' });
    await h.waitConnected(ada.page);
    const bo = await s.join(room, 'bo', {}, { microphone: 'silence' });
    await bo.page.setViewportSize(SMALL);
    await h.waitConnected(bo.page);
    const adaId = await h.ownId(ada.page);

    // ada sends three active layers, each twice the size of the one below.
    const layers = await h.waitUntil('ada to send three layers, each advancing', async () => {
      const first = await h.outboundLayers(ada.page);
      await h.sleep(1_000);
      const now = await h.outboundLayers(ada.page);
      const sent = DECLARED.map((rid) => now.find((l) => l.rid === rid));
      const before = (l) => first.find((f) => f.rid === l.rid) ?? { framesEncoded: 0, bytesSent: 0 };
      const moving = sent.every((l) => l && l.active !== false && l.framesEncoded > before(l).framesEncoded);
      if (moving) return sent.map((l) => ({ ...l, kbps: Math.round(((l.bytesSent - before(l).bytesSent) * 8) / 1_000) }));
      throw new Error(`sending: ${JSON.stringify(now)}`);
    }, { timeout: 60_000, interval: 1_000 });
    console.log(`ada sends, in the first second all three advance: ${layers.map((l) => `${l.rid} ${l.width}x${l.height} @ ${l.fps} fps, ${l.kbps} kbps`).join(', ')}`);
    assert.deepEqual(layers.map((l) => l.width), [320, 640, 1280], `layer widths: ${JSON.stringify(layers)}`);
    assert.deepEqual(layers.map((l) => l.height), [180, 360, 720]);

    // bo's tile is small: q. A large window, a grid of two: h.
    await waitDecodedWidth(bo, ada, adaId, 320, 'small tile');
    await bo.page.setViewportSize(LARGE);
    await waitDecodedWidth(bo, ada, adaId, 640, 'medium tile');

    // ada pinned: her tile takes the window, and the SFU switches bo up to f.
    await bo.page.click(`${h.tileOf(adaId)} [data-pin]`);
    await bo.page.waitForSelector(`${h.tileOf(adaId)}[data-featured]`, { timeout: 5_000 });
    const up = await waitDecodedWidth(bo, ada, adaId, 1280, 'large tile');
    console.log(`bo large: decoded widths on the way up ${JSON.stringify(up)}`);

    // And small again: back down to q.
    await bo.page.click(`${h.tileOf(adaId)} [data-pin]`);
    await bo.page.setViewportSize(SMALL);
    const down = await waitDecodedWidth(bo, ada, adaId, 320, 'small again');
    console.log(`bo small again: decoded widths on the way down ${JSON.stringify(down)}`);
  }),
);
