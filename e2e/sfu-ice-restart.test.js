// ICE restart in an sfu room: the UDP path to the SFU is cut for 12 s (nft drops every packet to
// and from its port, e2e/netfilter.js), as when a laptop changes networks. The page's connection
// to the SFU goes 'disconnected', the client restarts ICE (new credentials, offered through
// sfu_signal), the SFU answers with new credentials of its own, and once the path is back both
// pages decode each other again, in the same session: same participant ids, no rejoin.
// An outage longer than the SFU's grace ends the page's SFU session instead: the server says so
// (`sfu_ended`), the page connects to the SFU anew and video comes back, still in the same room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { dropUdp, freeUdpPort } from './netfilter.js';

const OUTAGE_MS = 12_000;
/** Short, so that the SFU gives up on a lost connection soon after noticing it (8 to 16 s). */
const GRACE_S = 2;

/** The ICE ufrags of the page's connection to the SFU: ours and the SFU's. */
function iceUfrags(page) {
  return page.evaluate(() => {
    const pc = window.__e2e.peerConnections.find((c) => c.connectionState !== 'closed');
    const ufrag = (description) => description && /a=ice-ufrag:(\S+)/.exec(description.sdp)[1];
    return { local: ufrag(pc.localDescription), remote: ufrag(pc.remoteDescription) };
  });
}

/** Starts recording the connection states of the page's connection to the SFU. */
function recordConnectionStates(page) {
  return page.evaluate(() => {
    const pc = window.__e2e.peerConnections.find((c) => c.connectionState !== 'closed');
    window.__e2e.sfuStates = [];
    pc.addEventListener('connectionstatechange', () => window.__e2e.sfuStates.push(pc.connectionState));
  });
}

test('after a 12 s outage of the path to the SFU, ICE restarts and video resumes', { timeout: 240_000 }, () =>
  h.scenario('sfu-ice-restart', async (s) => {
    const sfuPort = await freeUdpPort();
    await s.startServer({ args: ['--media-mode', 'sfu', '--sfu-listen', `127.0.0.1:${sfuPort}`] });
    const participants = await s.joinAll(h.roomName('restart'), ['ada', 'bo']);
    const before = [];
    for (const p of participants) {
      await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
      before.push({ id: await h.ownId(p.page), ufrags: await iceUfrags(p.page) });
      await recordConnectionStates(p.page);
    }

    const outage = dropUdp(sfuPort, { oneIn: 1 });
    try {
      await h.sleep(OUTAGE_MS);
    } finally {
      outage.remove();
    }
    const cutAt = Date.now();
    for (const p of participants) await h.waitForRemoteVideos(p.page, 1, { timeout: 15_000 });
    const resumedMs = Date.now() - cutAt;

    for (const [i, p] of participants.entries()) {
      const states = await p.page.evaluate(() => window.__e2e.sfuStates);
      assert.ok(states.includes('disconnected') || states.includes('failed'), `${p.name} noticed the outage: ${states}`);
      assert.equal(states.at(-1), 'connected', `${p.name} is connected again: ${states}`);
      const ufrags = await iceUfrags(p.page);
      assert.notEqual(ufrags.local, before[i].ufrags.local, `${p.name} restarted ICE with new credentials`);
      assert.notEqual(ufrags.remote, before[i].ufrags.remote, `the SFU answered ${p.name}'s restart with new credentials`);
      assert.equal(await h.ownId(p.page), before[i].id, `${p.name} is still the same participant`);
      assert.equal(await h.openPeerConnections(p.page), 1, `${p.name} kept its one connection to the SFU`);
    }
    console.log(`after a ${OUTAGE_MS / 1000} s outage, both pages decode again ${resumedMs} ms after the path came back`);
  }),
);

test('after an outage longer than the grace, the page connects to the SFU anew and video resumes', { timeout: 240_000 }, () =>
  h.scenario('sfu-ice-restart-ended', async (s) => {
    const sfuPort = await freeUdpPort();
    await s.startServer({
      args: ['--media-mode', 'sfu', '--sfu-listen', `127.0.0.1:${sfuPort}`, '--sfu-ice-restart-grace', String(GRACE_S)],
    });
    const participants = await s.joinAll(h.roomName('ended'), ['ada', 'bo']);
    const ids = [];
    for (const p of participants) {
      await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
      ids.push(await h.ownId(p.page));
    }

    // Cut until the SFU dropped both connections and each page opened a new one.
    const outage = dropUdp(sfuPort, { oneIn: 1 });
    const cutAt = Date.now();
    try {
      for (const p of participants) {
        await h.waitUntil(`${p.name} opens a new connection to the SFU`, () =>
          p.page.evaluate(() => window.__e2e.peerConnections.length >= 2), { timeout: 60_000 });
      }
    } finally {
      outage.remove();
    }
    const endedAfterMs = Date.now() - cutAt;
    const backAt = Date.now();
    // A connection begun while the path was down restarts its ICE after 6 s: well before the
    // browser's own ~30 s give-up.
    for (const p of participants) await h.waitForRemoteVideos(p.page, 1, { timeout: 20_000 });
    const resumedMs = Date.now() - backAt;

    for (const [i, p] of participants.entries()) {
      assert.equal(await h.ownId(p.page), ids[i], `${p.name} is still the same participant in the room`);
      await h.waitUntil(`${p.name} closed its dead connection`, async () => (await h.openPeerConnections(p.page)) === 1);
    }
    console.log(`the SFU ended both sessions ${endedAfterMs} ms into the outage; both pages decode again ${resumedMs} ms after the path came back`);
  }),
);
