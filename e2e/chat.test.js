// Chat between pages: text only with safe links, the unread badge, history for a late joiner,
// older pages on scrolling up, and a scheduled message that is listed first and posted on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.js';
import { openPane, sendChat, chatMessages, waitForChat } from './meeting.js';

/** How many messages a joiner gets at once (the server's page size). */
const FIRST_PAGE = 50;

test('chat reaches the others, and a late joiner gets the history', { timeout: 240_000 }, () =>
  h.scenario('chat', async (s) => {
    // Sixty messages in a few seconds for the history pages: faster than the default chat rate.
    await s.startServer({ args: ['--chat-rate', '100'] });
    const room = h.roomName('chat');
    const [ada, bo] = await s.joinAll(room, ['ada', 'bo']);

    await sendChat(ada.page, 'hello, see https://example.com/a?b=1.');
    await waitForChat(bo.page, 'hello, see https://example.com/a?b=1.');
    // Bo's panel is closed: the toolbar shows one unread message, until the chat is opened.
    await bo.page.waitForSelector('[data-unread]:not([hidden])');
    assert.equal(await bo.page.textContent('[data-unread]'), '1');
    await openPane(bo.page, 'chat');
    await bo.page.waitForSelector('[data-unread][hidden]', { state: 'attached' });
    const link = bo.page.locator('[data-chat-message] a');
    assert.equal(await link.getAttribute('href'), 'https://example.com/a?b=1');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await link.getAttribute('target'), '_blank');

    // Markup is text; a javascript: "link" stays text.
    const markup = '<img src=x onerror="window.__owned=1"><b>bold</b> javascript:alert(1)';
    await sendChat(bo.page, markup);
    await waitForChat(ada.page, markup);
    assert.equal(await ada.page.locator('[data-chat-message] img, [data-chat-message] b').count(), 0);
    assert.equal(await ada.page.evaluate(() => window.__owned), undefined);

    // Shift+Enter is a new line, not a send.
    await ada.page.fill('[data-chat-input]', 'two');
    await ada.page.press('[data-chat-input]', 'Shift+Enter');
    await ada.page.type('[data-chat-input]', 'lines');
    await ada.page.press('[data-chat-input]', 'Enter');
    await waitForChat(bo.page, 'two\nlines');

    // Enough for a second page of history.
    for (let i = 1; i <= FIRST_PAGE; i += 1) await sendChat(ada.page, `number ${i}`);
    await waitForChat(bo.page, `number ${FIRST_PAGE}`);

    const cy = await s.join(room, 'cy');
    await h.waitConnected(cy.page);
    await openPane(cy.page, 'chat');
    await waitForChat(cy.page, `number ${FIRST_PAGE}`);
    assert.equal((await chatMessages(cy.page)).length, FIRST_PAGE, 'a joiner gets the last 50 messages');
    // Scrolling to the top loads the older ones, in order.
    await h.waitUntil('older history after scrolling up', async () => {
      await cy.page.$eval('[data-chat-messages]', (list) => list.scrollTo(0, 0));
      return (await chatMessages(cy.page)).length === FIRST_PAGE + 3;
    }, { timeout: 15_000, interval: 300 });
    const texts = (await chatMessages(cy.page)).map((message) => message.text);
    assert.deepEqual(texts.slice(0, 4), ['hello, see https://example.com/a?b=1.', markup, 'two\nlines', 'number 1']);
    assert.equal(texts.at(-1), `number ${FIRST_PAGE}`);
  }),
);

test('a scheduled message is listed, then posted on time', { timeout: 240_000 }, () =>
  h.scenario('chat-scheduled', async (s) => {
    await s.startServer();
    const [ada, bo] = await s.joinAll(h.roomName('sched'), ['ada', 'bo']);
    await openPane(bo.page, 'chat');
    await openPane(ada.page, 'chat');

    const text = 'stand-up starts now';
    // The picker is in local time, to the second; the page turns it into UTC.
    const at = await ada.page.evaluate(() => {
      const when = new Date(Date.now() + 6_000);
      const pad = (n) => String(n).padStart(2, '0');
      const local = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
      return { local, ms: Math.floor(when.getTime() / 1000) * 1000 };
    });
    await ada.page.fill('[data-chat-input]', text);
    await ada.page.click('[data-schedule-toggle]');
    await ada.page.fill('[data-schedule-at]', at.local);
    await ada.page.click('[data-schedule-send]');

    // Listed for everybody first; only its author may cancel it.
    await bo.page.waitForSelector('[data-scheduled-item]');
    assert.match(await bo.page.textContent('[data-scheduled-item]'), /stand-up starts now/);
    assert.equal(await bo.page.locator('[data-scheduled-item] [data-scheduled-cancel]').count(), 0);
    assert.equal(await ada.page.locator('[data-scheduled-item] [data-scheduled-cancel]').count(), 1);
    assert.equal((await chatMessages(bo.page)).length, 0, 'not posted before its time');

    const posted = await waitForChat(bo.page, text, { timeout: 30_000 });
    const arrived = Date.now();
    assert.equal(posted.kind, 'scheduled');
    assert.equal(posted.late, false);
    assert.ok(arrived >= at.ms - 500, `posted at its time, not ${at.ms - arrived} ms early`);
    // A loaded machine may be late by a few seconds, no more.
    assert.ok(arrived <= at.ms + 5_000, `posted on time, not ${arrived - at.ms} ms late`);
    await bo.page.waitForSelector('[data-scheduled-item]', { state: 'detached' });

    // One to cancel: it leaves everyone's list.
    await ada.page.fill('[data-chat-input]', 'never mind');
    await ada.page.fill('[data-schedule-at]', await ada.page.evaluate(() => {
      const when = new Date(Date.now() + 3_600_000);
      const pad = (n) => String(n).padStart(2, '0');
      return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
    }));
    await ada.page.click('[data-schedule-send]');
    await bo.page.waitForSelector('[data-scheduled-item]');
    await ada.page.click('[data-scheduled-cancel]');
    await bo.page.waitForSelector('[data-scheduled-item]', { state: 'detached' });
  }),
);
