// Who gets in, as the page shows it: the password prompt, a wrong password, a tampered invitation,
// and a whole call over HTTPS with the self-signed certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';

test('a room password is asked for, a wrong one said, the right one lets in', { timeout: 180_000 }, () =>
  h.scenario('password', async (s) => {
    const room = h.roomName('vault');
    await s.startServer({ args: ['--room-password', `${room}=open sesame`] });
    const ada = await s.join(room, 'ada');
    await ada.page.waitForSelector('[data-password-prompt]', { state: 'visible' });
    await ada.page.fill('[data-password-input]', 'guess');
    await ada.page.click('[data-password-submit]');
    await ada.page.waitForSelector('[data-password-error]:has-text("Wrong password")');
    await ada.page.fill('[data-password-input]', 'open sesame');
    await ada.page.click('[data-password-submit]');
    await h.waitConnected(ada.page);
  }),
);

test('a tampered invitation link is refused with its reason', { timeout: 120_000 }, () =>
  h.scenario('bad-token', async (s) => {
    await s.startServer({ args: ['--require-token'] });
    const room = h.roomName('invite');
    const nobody = await s.join(room, 'nobody');
    await nobody.page.waitForSelector('[data-join-error="token_required"]', { state: 'visible' });
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoieCIsInJvbGUiOiJob3N0IiwiZXhwIjo5OTk5OTk5OTk5LCJqdGkiOiJ4In0.c2lnbmF0dXJl';
    const forger = await s.join(room, 'forger', { token: forged });
    await forger.page.waitForSelector('[data-join-error="token_invalid"]', { state: 'visible' });
    const text = await forger.page.locator('[data-join-error]').innerText();
    assert.match(text, /not valid/);
  }),
);

test('a call over HTTPS with the self-signed certificate', { timeout: 240_000 }, () =>
  h.scenario('https-call', async (s) => {
    await s.startServer({ tls: true });
    assert.ok(s.server.url.startsWith('https://'));
    const room = h.roomName('secure');
    const insecure = { extraArgs: ['--ignore-certificate-errors'] };
    const ada = await s.join(room, 'ada', {}, insecure);
    await h.waitConnected(ada.page);
    const bo = await s.join(room, 'bo', {}, insecure);
    await h.waitConnected(bo.page);
    for (const p of [ada, bo]) await h.waitForRemoteVideos(p.page, 1);
    assert.equal(await ada.page.evaluate(() => window.isSecureContext), true);
  }),
);
