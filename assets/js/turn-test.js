// The /turn-test page: gathers ICE candidates through each ICE server the server would hand a
// participant, one transport at a time, and says which ones yield a relayed (or reflexive) address.

import { element } from './dom.js';

/** How long one check may take; TURN over TCP through a proxy can be slow. */
const CHECK_TIMEOUT_MS = 8_000;

/**
 * @typedef {{ urls: string[], username?: string, credential?: string }} IceServer
 * @typedef {{ label: string, server: IceServer, want: 'relay' | 'srflx' }} Check
 */

/**
 * One check per URL: STUN wants a server-reflexive candidate, TURN a relayed one.
 * @param {IceServer[]} servers
 * @returns {Check[]}
 */
export function checksFor(servers) {
  return servers.flatMap((server) =>
    server.urls.map((url) => {
      const turn = url.startsWith('turn');
      /** @type {Check} */
      const check = {
        label: turn ? `TURN ${url.includes('transport=tcp') ? 'TCP' : 'UDP'} (${url})` : `STUN (${url})`,
        server: { ...server, urls: [url] },
        want: turn ? 'relay' : 'srflx',
      };
      return check;
    }),
  );
}

/**
 * Gathers candidates through one server; resolves with the wanted candidate's address, or null.
 * @param {Check} check
 * @returns {Promise<string | null>}
 */
export function runCheck(check) {
  const pc = new RTCPeerConnection({
    iceServers: [check.server],
    iceTransportPolicy: check.want === 'relay' ? 'relay' : 'all',
  });
  pc.createDataChannel('turn-test');
  return new Promise((resolve) => {
    /** @param {string | null} address */
    const finish = (address) => {
      clearTimeout(timer);
      pc.close();
      resolve(address);
    };
    const timer = setTimeout(() => finish(null), CHECK_TIMEOUT_MS);
    pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate;
      if (!candidate) finish(null);
      else if (candidate.type === check.want) finish(`${candidate.address}:${candidate.port}`);
    });
    pc.createOffer()
      .then((offer) => pc.setLocalDescription(offer))
      .catch(() => finish(null));
  });
}

async function testAll() {
  const list = element('[data-turn-checks]', HTMLUListElement);
  const summary = element('[data-turn-summary]', HTMLElement);
  list.replaceChildren();
  summary.textContent = 'Testing…';
  // A server that requires invitations wants the token of one: /turn-test?token=...
  const token = new URL(location.href).searchParams.get('token');
  const response = await fetch('/api/turn-test', {
    method: 'POST',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) {
    summary.textContent = `The server refused the test: ${await response.text()}`;
    return;
  }
  /** @type {IceServer[]} */
  const servers = await response.json();
  const checks = checksFor(servers);
  if (checks.length === 0) {
    summary.textContent = 'This server hands out no STUN or TURN servers.';
    return;
  }
  let relayed = 0;
  for (const check of checks) {
    const item = document.createElement('li');
    item.textContent = `${check.label}: testing…`;
    list.append(item);
    const address = await runCheck(check);
    item.dataset.turnResult = address ? 'ok' : 'failed';
    item.dataset.turnWant = check.want;
    item.textContent = `${check.label}: ${address ? `ok, ${check.want === 'relay' ? 'relayed' : 'public'} address ${address}` : 'failed'}`;
    if (address && check.want === 'relay') relayed += 1;
  }
  summary.textContent = relayed > 0
    ? 'Your browser can use the relay: calls will connect even behind strict firewalls.'
    : 'Your browser could not get a relayed address: calls may fail behind strict firewalls.';
}

element('[data-turn-retry]', HTMLButtonElement).addEventListener('click', () => void testAll());
void testAll();
