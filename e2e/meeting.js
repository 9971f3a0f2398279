// Helpers for the collaboration hooks (chat, scheduled messages, whiteboard, files, hands, title),
// shared by the e2e tests of issue 5. Like the harness, they only use the stable hooks of
// docs/testing.md.
import { waitUntil } from './harness.js';

/** Opens a side-panel pane (chat, people, files) if it is not already on screen. */
export async function openPane(page, pane) {
  const open = await page.getAttribute(`[data-panel="${pane}"]`, 'aria-pressed');
  if (open !== 'true') await page.click(`[data-panel="${pane}"]`);
  await page.waitForSelector(`[data-pane="${pane}"]`, { state: 'visible' });
}

/** Types `text` into the chat input and presses Enter. */
export async function sendChat(page, text) {
  await openPane(page, 'chat');
  await page.fill('[data-chat-input]', text);
  await page.press('[data-chat-input]', 'Enter');
}

/** The chat messages shown, oldest first: kind, text, whether marked late. */
export function chatMessages(page) {
  return page.$$eval('[data-chat-message]', (items) => items.map((item) => ({
    kind: item.getAttribute('data-kind'),
    late: item.hasAttribute('data-late'),
    text: item.querySelector('.text')?.textContent ?? '',
    author: item.querySelector('.author')?.textContent ?? '',
  })));
}

/** Waits until a chat message with exactly `text` is shown; returns it. */
export function waitForChat(page, text, { timeout = 20_000 } = {}) {
  return waitUntil(`chat message ${JSON.stringify(text)} on the page`, async () => {
    const found = (await chatMessages(page)).find((message) => message.text === text);
    return found ?? false;
  }, { timeout, interval: 100 });
}

/**
 * The board's pixel alpha at board point (x, y) (0..1 of the canvas), read off [data-whiteboard];
 * 0 where nothing is drawn (the canvas is transparent there).
 */
export function boardAlphaAt(page, x, y) {
  return page.$eval('[data-whiteboard]', (canvas, [bx, by]) => {
    const ctx = canvas.getContext('2d');
    const px = Math.round(bx * (canvas.width - 1));
    const py = Math.round(by * (canvas.height - 1));
    return ctx.getImageData(px, py, 1, 1).data[3];
  }, [x, y]);
}
