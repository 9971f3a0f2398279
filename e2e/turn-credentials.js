// TURN for e2e tests that pick their own relay: credentials the server accepts (its
// --turn-secret is SECRET), and how a page's connections reach their TURN server.

import crypto from 'node:crypto';
import net from 'node:net';

const SECRET = 'turn e2e secret';

/** An `--ice-server` value's `|username|credential`: coturn's REST-API credentials (docs/turn.md). */
function credentials(user) {
  const username = `${Math.floor(Date.now() / 1000) + 3600}:${user}`;
  const credential = crypto.createHmac('sha1', SECRET).update(username).digest('base64');
  return `${username}|${credential}`;
}

/** A free TCP port on 127.0.0.1; the built-in TURN takes UDP and TCP on the same port. */
function freeTcpPort() {
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

export { SECRET, credentials, freeTcpPort, relayProtocols };
