// A browser and aiortc (interop/aiortc_client.py, a Python WebRTC stack) in one sfu room: the
// page decodes aiortc's camera, aiortc decodes the page's camera and microphone. The Python is
// $HUDDLE_PYTHON or target/venv (scripts/test installs interop/requirements.txt there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.js';

const PYTHON = process.env.HUDDLE_PYTHON || path.join(h.ROOT, 'target', 'venv', 'bin', 'python');

/** Runs the aiortc participant until it decoded one publisher; resolves with its JSON lines. */
function aiortcParticipant(serverUrl, room) {
  if (!fs.existsSync(PYTHON)) throw new Error(`no Python with aiortc at ${PYTHON}: run scripts/test (or see docs/testing.md)`);
  const url = serverUrl.replace(/^http/, 'ws') + '/ws';
  const args = [path.join(h.ROOT, 'interop', 'aiortc_client.py'), '--url', url, '--room', room, '--name', 'aiortc', '--luma', '200', '--expect-publishers', '1', '--timeout', '60', '--linger', '8', '--loopback'];
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const done = new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      const events = out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      if (code === 0) resolve(events);
      else reject(new Error(`aiortc client exited ${code}: ${out}\n${err.slice(-2000)}`));
    });
  });
  return { child, done };
}

test('a browser and an aiortc client decode each other through the SFU', { timeout: 180_000 }, () =>
  h.scenario('aiortc-interop', async (s) => {
    await s.startServer({ args: ['--media-mode', 'sfu'] });
    const room = h.roomName('aiortc');
    const [page] = await s.joinAll(room, ['ada']);
    const aiortc = aiortcParticipant(s.server.url, room);
    try {
      await h.waitForRemoteVideos(page.page, 1, { timeout: 60_000 });
      const [tile] = await h.remoteVideoStats(page.page, '[data-participant]:not([data-local])');
      assert.deepEqual([tile.width, tile.height], [320, 240], `the page shows aiortc's 320x240 camera: ${JSON.stringify(tile)}`);
      const events = await aiortc.done;
      const done = events.find((e) => e.event === 'done');
      const adaId = await h.ownId(page.page);
      const got = done.received[adaId];
      assert.ok(got, `aiortc received ada's media: ${JSON.stringify(done)}`);
      assert.deepEqual(got.size, [320, 180], `aiortc decoded ada's low-quality camera: ${JSON.stringify(got)}`);
      assert.ok(got.video_frames >= 10 && got.audio_frames >= 10, `aiortc decoded video and audio: ${JSON.stringify(got)}`);
      console.log(`aiortc decoded ${got.video_frames} video and ${got.audio_frames} audio frames of the page; the page decodes aiortc's camera`);
    } finally {
      aiortc.child.kill();
    }
  }),
);
