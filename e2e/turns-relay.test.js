// TURN over TLS: with HTTPS on, the built-in TURN also speaks TLS with the same (self-signed)
// certificate. Pages given only the turns: server (--ice-server) and ?ice=relay must relay over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { SECRET, credentials, freeTcpPort, relayProtocols } from './turn-credentials.js';

test('a call relayed through TURN over TLS', { timeout: 240_000 }, () =>
  h.scenario('turns-relay', async (s) => {
    const port = await freeTcpPort();
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
