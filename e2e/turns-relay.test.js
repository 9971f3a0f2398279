// TURN over TLS: with HTTPS on, the built-in TURN also speaks TLS with the same (self-signed)
// certificate. Pages given only the turns: server (--ice-server) and ?ice=relay must relay over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import * as h from './harness.js';

const SECRET = 'turns e2e secret';

/** coturn's REST-API credentials, as huddle hands them out (docs/turn.md). */
function credentials(user) {
  const username = `${Math.floor(Date.now() / 1000) + 3600}:${user}`;
  const credential = crypto.createHmac('sha1', SECRET).update(username).digest('base64');
  return `${username}|${credential}`;
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** How each connected peer connection reaches its TURN server (RTCIceCandidateStats.relayProtocol). */
function relayProtocols(page) {
  return page.evaluate(async () => {
    const protocols = new Set();
    for (const pc of window.__e2e.peerConnections) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const local = stats.get(stats.get(s.selectedCandidatePairId).localCandidateId);
        protocols.add(local.relayProtocol);
      });
    }
    return [...protocols];
  });
}

test('a call relayed through TURN over TLS', { timeout: 240_000 }, () =>
  h.scenario('turns-relay', async (s) => {
    const port = await freePort();
    const turns = `turns:localhost:${port}?transport=tcp|${credentials('e2e')}`;
    await s.startServer({
      tls: true,
      args: ['--turn-secret', SECRET, '--turns-listen', `127.0.0.1:${port}`, '--ice-server', turns],
    });
    const room = h.roomName('turns');
    const insecure = { extraArgs: ['--ignore-certificate-errors'] };
    const ada = await s.join(room, 'ada', { ice: 'relay' }, insecure);
    await h.waitConnected(ada.page);
    const bo = await s.join(room, 'bo', { ice: 'relay' }, insecure);
    for (const p of [ada, bo]) {
      await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
      const pairs = await h.selectedCandidateTypes(p.page);
      assert.ok(pairs.length >= 1, `${p.name} has a connected peer connection`);
      for (const pair of pairs) assert.equal(pair.local, 'relay', `${p.name} relays: ${JSON.stringify(pairs)}`);
      assert.deepEqual(await relayProtocols(p.page), ['tls'], `${p.name} reaches TURN over TLS`);
    }
  }),
);
