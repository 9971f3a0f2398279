// A page that joins an sfu room whose SFU worker sheds load is told that the meeting is at capacity
// and that it tries again, and gets in once the load has passed. The load is real: the worker's
// thread is put in the idle scheduling class on one core, where a busy loop leaves it almost nothing,
// so its media waits past the delay bound and it climbs its shedding ladder as on a saturated core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import * as h from './harness.js';

const WORKER = 'huddle-sfu-0';
const REFUSING = `huddle_sfu_worker_refusing_newcomers{worker="0"}`;

test('a page refused because the SFU sheds load is told so, and gets in once the load passed', { timeout: 300_000 }, () =>
  h.scenario('overload', async (s) => {
    const server = await s.startServer({ args: ['--media-mode', 'sfu', '--sfu-workers', '1'] });
    const room = h.roomName('overload');
    const [ada] = await s.joinAll(room, ['ada']);

    const load = starve(threadOf(server.child.pid, WORKER));
    let bo;
    try {
      await h.waitUntil('the SFU worker to refuse newcomers', async () => (await server.metric(REFUSING)) === 1, {
        timeout: 60_000,
        interval: 250,
      });
      bo = await s.join(room, 'bo');
      await h.waitUntil(
        'bo to be told the meeting is at capacity',
        async () => /at capacity: trying again/.test(await bo.page.textContent('[data-status]')),
        { timeout: 30_000 },
      );
      assert.equal(await bo.page.locator('[data-participant]:not([data-local])').count(), 0, 'bo is not in yet');
    } finally {
      load.stop();
    }

    // The starved worker publishes its counters when it runs again.
    await h.waitUntil('the refusal to be counted', async () => (await server.metric('huddle_sfu_joins_refused_total')) >= 1, {
      timeout: 10_000,
    });
    // Once the worker is calm again bo's next try gets in, within the minute the page keeps trying.
    await h.waitForRemoteVideos(bo.page, 1, { timeout: 60_000 });
    await h.waitForRemoteVideos(ada.page, 1, { timeout: 30_000 });
    assert.equal(await server.metric(REFUSING), 0, 'the worker takes newcomers again');
  }),
);

/** The id of the thread of process `pid` named `name`. */
function threadOf(pid, name) {
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  const tid = tasks.find((t) => fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === name);
  if (!tid) throw new Error(`no thread ${name} in process ${pid}`);
  return tid;
}

/**
 * Leaves thread `tid` almost no CPU: pinned to the first core in the idle scheduling class (which
 * an unprivileged process may enter but not leave), beside busy loops on that core. Against one
 * loop it still ran every ~100 ms, at the edge of the delay bound; against four, every few hundred,
 * which stopped being enough once the worker's cost per datagram fell (packets forwarded as they
 * come): it caught up within its slices, read its queue as calm and took newcomers again (one run
 * in three). Against eight it stays starved.
 * `stop` ends the loops and lets the thread run on every core again, where it gets what the
 * others leave.
 */
function starve(tid) {
  execFileSync('taskset', ['-p', '-c', '0', tid], { stdio: 'ignore' });
  execFileSync('chrt', ['--idle', '-p', '0', tid], { stdio: 'ignore' });
  const loops = Array.from({ length: 8 }, () =>
    spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  return {
    stop() {
      for (const loop of loops) loop.kill('SIGKILL');
      execFileSync('taskset', ['-p', '-c', `0-${os.cpus().length - 1}`, tid], { stdio: 'ignore' });
    },
  };
}
