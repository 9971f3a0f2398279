// Packet loss and outages for e2e tests, with nftables. The kernel of the CI machine has no netem
// (CONFIG_NET_SCH_NETEM is not set), so `tc qdisc ... netem loss` is not available; nft's `numgen
// random` drops a share of packets instead. Rules go in a table of their own in the test's network
// namespace, and only match UDP to and from one port (the SFU's), so they touch nothing else.
// They hook input, not output: a packet dropped on output fails the sender's sendto (EPERM), and
// Chromium then sends it again, so its uplink would see a tenth of the loss asked for.

import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';

const TABLE = 'huddle_e2e';

/** nft changes the network of the whole namespace: refuse unless it is a private, loopback-only one. */
function assertPrivateNamespace() {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':')[1].trim());
  if (links.length !== 1 || links[0] !== 'lo') {
    throw new Error(`packet filtering needs a private network namespace with only lo (found ${links.join(', ')}): run under unshare -rn (e2e/README.md)`);
  }
}

function nft(...args) {
  return execFileSync('nft', args, { encoding: 'utf8' });
}

/** A free UDP port on 127.0.0.1 (for `--sfu-listen`, so that the rules know the SFU's port). */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.on('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * Drops UDP packets to and from `port`: `oneIn` 10 drops one packet in ten at random (each
 * direction on its own), `oneIn` 1 drops all of them. Returns the rule set, to `count()` what was
 * dropped and `remove()` it.
 */
function dropUdp(port, { oneIn }) {
  assertPrivateNamespace();
  nft('add', 'table', 'inet', TABLE);
  nft('add', 'chain', 'inet', TABLE, 'input', '{ type filter hook input priority 0; policy accept; }');
  const chance = oneIn === 1 ? [] : ['numgen', 'random', 'mod', String(oneIn), '0'];
  for (const direction of ['dport', 'sport']) {
    nft('add', 'rule', 'inet', TABLE, 'input', 'udp', direction, String(port), ...chance, 'counter', 'drop');
  }
  return {
    /** Packets dropped so far, both directions. */
    count() {
      return [...nft('list', 'table', 'inet', TABLE).matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    },
    remove() {
      nft('delete', 'table', 'inet', TABLE);
    },
  };
}

export { dropUdp, freeUdpPort };
