// /turn-test: a user's browser checks that huddle's own relay hands it a relayed address over UDP and TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('the connectivity page gets a relayed address over UDP and over TCP', { timeout: 120_000 }, () =>
  h.scenario('turn-test', async (s) => {
    const server = await s.startServer();
    const { page } = await s.launch('tester');
    await page.goto(`${server.url}/turn-test`, { waitUntil: 'domcontentloaded' });
    const results = page.locator('[data-turn-checks] li[data-turn-result]');
    await page.waitForFunction(() => {
      const items = [...document.querySelectorAll('[data-turn-checks] li')];
      return items.length === 3 && items.every((item) => item instanceof HTMLElement && item.dataset.turnResult);
    }, null, { timeout: 60_000 });
    const checks = await results.evaluateAll((items) =>
      items.map((item) => ({ want: item.getAttribute('data-turn-want'), result: item.getAttribute('data-turn-result'), text: item.textContent })),
    );
    const relays = checks.filter((check) => check.want === 'relay');
    assert.equal(relays.length, 2, `a UDP and a TCP TURN check: ${JSON.stringify(checks)}`);
    for (const relay of relays) assert.equal(relay.result, 'ok', relay.text);
    assert.match(relays.map((r) => r.text).join('\n'), /TURN UDP.*relayed address 127\.0\.0\.1:\d+/);
    assert.match(relays.map((r) => r.text).join('\n'), /TURN TCP.*relayed address 127\.0\.0\.1:\d+/);
    assert.match(await page.locator('[data-turn-summary]').innerText(), /can use the relay/);
  }),
);
