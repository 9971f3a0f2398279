// An sfu room reached through huddle's TURN: pages with ?ice=relay (iceTransportPolicy 'relay')
// given only one TURN URL (--ice-server), over UDP and then over TCP, connect to the SFU through
// a relayed candidate and decode each other's camera. The TURN server relays to the SFU's loopback
// address, which the harness allows (--turn-allow-peer 127.0.0.0/8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { SECRET, credentials, freeTcpPort, relayProtocols } from './turn-credentials.js';

for (const transport of ['udp', 'tcp']) {
  test(`an sfu room relayed through TURN over ${transport}`, { timeout: 240_000 }, () =>
    h.scenario(`sfu-relay-${transport}`, async (s) => {
      const port = await freeTcpPort();
      const turn = `turn:127.0.0.1:${port}?transport=${transport}|${credentials('e2e')}`;
      await s.startServer({
        args: ['--media-mode', 'sfu', '--turn-secret', SECRET, '--turn-listen', `127.0.0.1:${port}`, '--ice-server', turn],
      });
      const participants = await s.joinAll(h.roomName(`relay-${transport}`), ['ada', 'bo'], { ice: 'relay' });
      for (const p of participants) {
        await h.waitForRemoteVideos(p.page, 1, { timeout: 90_000 });
        assert.equal(await p.page.getAttribute('body', 'data-media-mode'), 'sfu', `${p.name} is in the SFU`);
        const pairs = await h.selectedCandidateTypes(p.page);
        assert.equal(pairs.length, 1, `${p.name} has its one connection to the SFU: ${JSON.stringify(pairs)}`);
        assert.deepEqual(pairs[0], { local: 'relay', remote: 'host' }, `${p.name} reaches the SFU's host candidate through the relay`);
        assert.deepEqual(await relayProtocols(p.page), [transport], `${p.name} reaches TURN over ${transport}`);
      }
    }),
  );
}
