// A 5 MiB file shared over RTCDataChannels arrives byte-identical on every other page, with
// progress shown on both sides, its sender named as the transport knows them, and only as a
// download (an .html file must not become a page of huddle's origin): in a mesh room (a channel
// per peer connection) and in an sfu room (one channel to the SFU, which forwards it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as h from './harness.js';
import { openPane } from './meeting.js';

const SIZE = 5 * 1024 * 1024;

/** Notes every value the page's progress bars take, to tell that progress was shown. */
function watchProgress(page) {
  return page.evaluate(() => {
    window.__progress = [];
    new MutationObserver((records) => {
      for (const record of records) {
        const bar = record.target;
        if (bar instanceof HTMLProgressElement && bar.hasAttribute('data-file-progress')) window.__progress.push(bar.value / bar.max);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['value'] });
  });
}

/** The file behind the page's download link: its size, SHA-256 (hex), type and download name. */
function downloaded(page) {
  return page.$eval('[data-transfer][data-state="done"] [data-file-download]', async (link) => {
    if (!(link instanceof HTMLAnchorElement)) throw new Error('the download is not a link');
    const blob = await (await fetch(link.href)).blob();
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    return { size: blob.size, sha256, type: blob.type, download: link.download };
  });
}

for (const mode of ['mesh', 'sfu']) {
  test(`a 5 MiB file reaches everyone byte-identical (${mode} room)`, { timeout: 300_000 }, () =>
    h.scenario(`file-transfer-${mode}`, async (s) => {
      await s.startServer({ args: ['--media-mode', mode] });
      const participants = await s.joinAll(h.roomName(`files-${mode}`), ['ada', 'bo', 'cy']);
      const [ada, ...receivers] = participants;
      for (const p of participants) await h.waitUntil(`${p.name}'s peer connections`, () => p.page.evaluate(
        (count) => document.querySelectorAll('[data-peer="connected"]').length === count, receivers.length,
      ), { timeout: 90_000 });
      for (const p of participants) await watchProgress(p.page);

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-e2e-file-'));
      const file = path.join(dir, 'report.html');
      const content = crypto.randomBytes(SIZE);
      fs.writeFileSync(file, content);
      const expected = crypto.createHash('sha256').update(content).digest('hex');
      try {
        await openPane(ada.page, 'files');
        await ada.page.setInputFiles('[data-file-input]', file);
        for (const p of receivers) {
          // The pane opens by itself when a file comes in, showing its name and size.
          const card = p.page.locator('[data-transfer][data-direction="in"]');
          await card.waitFor({ timeout: 30_000 });
          assert.match(await card.textContent(), /report\.html/);
          assert.match(await card.textContent(), /From ada · 5\.0 MB/);
          await p.page.waitForSelector('[data-transfer][data-state="done"] [data-file-download]', { timeout: 120_000 });
          const expectedDownload = { size: SIZE, sha256: expected, type: 'application/octet-stream', download: 'report.html' };
          assert.deepEqual(await downloaded(p.page), expectedDownload, `${p.name} got the same bytes, as a download`);
        }
        await ada.page.waitForSelector('[data-transfer][data-direction="out"][data-state="done"]', { timeout: 60_000 });
        for (const p of participants) {
          const seen = await p.page.evaluate(() => window.__progress);
          assert.ok(seen.some((value) => value > 0 && value < 1), `${p.name} showed progress on the way: ${seen.length} updates`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
}
