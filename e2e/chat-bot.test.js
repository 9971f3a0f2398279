// The chat bot: `/prompt <question>` goes to the operator's OpenAI-compatible endpoint (here a fake
// one on loopback) and its answer is posted for everybody as a bot message; without a configured
// bot, the sender is told so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as h from './harness.js';
import { sendChat, waitForChat } from './meeting.js';

const ANSWER = 'Forty-two, according to the fake endpoint.';

/** A fake chat-completions endpoint; `requests` holds the bodies it got. */
async function fakeEndpoint() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ url: req.url, authorization: req.headers.authorization, body: JSON.parse(body || '{}') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: ANSWER } }] }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, requests, url: `http://127.0.0.1:${server.address().port}/v1` };
}

test('the bot answers /prompt for everybody from the configured endpoint', { timeout: 240_000 }, async () => {
  const endpoint = await fakeEndpoint();
  try {
    await h.scenario('chat-bot', async (s) => {
      await s.startServer({ args: ['--bot-url', endpoint.url, '--bot-model', 'test'] });
      const [ada, bo] = await s.joinAll(h.roomName('bot'), ['ada', 'bo']);
      await sendChat(ada.page, '/prompt what is the answer?');
      await waitForChat(bo.page, '/prompt what is the answer?');
      for (const p of [ada, bo]) {
        const answer = await waitForChat(p.page, ANSWER, { timeout: 30_000 });
        assert.equal(answer.kind, 'bot', `${p.name} sees a bot message`);
      }
      assert.equal(endpoint.requests.length, 1);
      const [request] = endpoint.requests;
      assert.equal(request.url, '/v1/chat/completions');
      assert.equal(request.body.model, 'test');
      assert.match(JSON.stringify(request.body.messages), /what is the answer\?/);
    });
  } finally {
    endpoint.server.close();
  }
});

test('without a bot, /prompt says that none is configured', { timeout: 120_000 }, () =>
  h.scenario('chat-bot-none', async (s) => {
    await s.startServer();
    const [ada] = await s.joinAll(h.roomName('nobot'), ['ada']);
    await sendChat(ada.page, '/prompt anyone?');
    await ada.page.waitForSelector('[data-chat-error]:not([hidden])', { timeout: 10_000 });
    assert.match(await ada.page.textContent('[data-chat-error]'), /bot/i);
  }),
);
