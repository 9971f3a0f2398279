// End-to-end harness: one real huddle server, one real Chromium per participant.
//
// Every participant gets its own browser process (and so its own fresh profile directory), as
// separate people on separate machines would; killing that process is how a test "closes a tab
// abruptly". Tests are written against the client's stable hooks (data-participant, data-action, ...),
// never against its CSS or markup.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { sleep, waitUntil } from './wait.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const OUT = path.join(HERE, 'out');
const JOIN_TIMES = path.join(OUT, 'join-times.jsonl');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Two fake cameras, so switching devices can be tested.
  '--use-fake-device-for-media-stream=device-count=3',
  '--use-fake-ui-for-media-stream',
  // getDisplayMedia picks the (fake) screen without a picker.
  '--auto-select-desktop-capture-source=Entire screen',
  '--allow-loopback-in-peer-connection',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function serverBinary() {
  return process.env.HUDDLE_BIN || path.join(ROOT, 'target', 'debug', 'huddle');
}


/** The status of GET `url`, or null; HTTPS accepts the self-signed certificate. */
function healthStatus(url) {
  if (!url.startsWith('https:')) return fetch(url).then((res) => res.status, () => null);
  return new Promise((resolve) => {
    https.get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', () => resolve(null));
  });
}

/** A running huddle server on a free loopback port; `stop()` asserts it exits on SIGTERM within 5 s. */
class Server {
  /**
   * `port` reuses a known port (a restart); by default a free one is picked. `dataDir` is where
   * the server keeps chat, whiteboards and titles (SQLite); a restart passes the same one. `tls`
   * serves HTTPS with the self-signed certificate (pages then need Chromium's
   * --ignore-certificate-errors).
   */
  static async start({ args = [], port, dataDir, tls = false } = {}) {
    const bin = serverBinary();
    if (!fs.existsSync(bin)) throw new Error(`no server binary at ${bin}: run cargo build -p huddle`);
    port = port || (await freePort());
    const argv = ['--listen', `127.0.0.1:${port}`];
    // Everything here is on loopback, which TURN refuses to relay to unless told otherwise.
    if (!args.includes('--turn-listen')) argv.push('--turn-listen', '127.0.0.1:0');
    argv.push('--turn-allow-peer', '127.0.0.0/8');
    if (dataDir) argv.push('--data-dir', dataDir);
    if (tls) argv.push('--tls-self-signed');
    // Auto rooms (the default) may use the SFU: keep it on loopback, on a free port.
    if (!args.includes('--sfu-listen')) argv.push('--sfu-listen', '127.0.0.1:0');
    argv.push(...args);
    const child = spawn(bin, argv, {
      cwd: ROOT,
      env: { RUST_LOG: 'info', ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new Server(child, `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, argv);
    await server.#waitHealthy();
    return server;
  }

  constructor(child, url, argv) {
    this.child = child;
    this.url = url;
    this.argv = argv;
    this.port = Number(new URL(url).port);
    this.log = [];
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exitStatus = null;
    this.exited.then((status) => (this.exitStatus = status));
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => this.log.push(chunk));
    }
  }

  async #waitHealthy() {
    await waitUntil(
      `${this.url}/healthz to answer 200`,
      async () => {
        if (this.exitStatus) {
          throw new Error(`server exited early (${JSON.stringify(this.exitStatus)}):\n${this.log.join('')}`);
        }
        return (await healthStatus(`${this.url}/healthz`)) === 200;
      },
      { timeout: 20_000, interval: 100 },
    ).catch((err) => {
      this.child.kill('SIGKILL');
      throw err;
    });
  }

  /** The value of a counter or gauge without labels on `/metrics` (plain HTTP), or NaN without it. */
  async metric(name) {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : NaN;
  }

  /** SIGTERM, then demand an exit within 5 s (graceful shutdown must not hang on open sockets). */
  async stop() {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill('SIGTERM');
    const status = await Promise.race([this.exited, sleep(5_000).then(() => null)]);
    if (status === null) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error('server did not exit within 5 s of SIGTERM');
    }
    return status;
  }
}

// Runs in every page before the client's scripts: notes when the first remote frame is decoded,
// and when each step before it first happened (`marks`: the join's breakdown). Media events do not
// bubble, but they do pass the document in the capture phase.
function installProbes() {
  const marks = {};
  window.__e2e = { firstRemoteFrameAt: null, peerConnections: [], connectionStates: [], marks };
  const mark = (step) => {
    if (!(step in marks)) marks[step] = Date.now();
  };
  const devices = navigator.mediaDevices;
  if (devices && devices.getUserMedia) {
    const ask = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (...args) => {
      mark('media asked');
      return ask(...args).then((stream) => {
        mark('media granted');
        return stream;
      });
    };
  }
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      mark('socket opening');
      this.addEventListener('open', () => mark('socket open'));
      this.addEventListener('message', (event) => {
        if (typeof event.data === 'string' && event.data.startsWith('{"type":"joined"')) mark('joined');
      });
    }
  };
  // Every value body[data-connection] takes, in order, so a test can tell a brief "reconnecting".
  new MutationObserver(() => {
    const state = document.body && document.body.getAttribute('data-connection');
    const seen = window.__e2e.connectionStates;
    if (state && seen[seen.length - 1] !== state) seen.push(state);
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-connection'] });
  // Keep a handle on every peer connection so tests can read getStats() (e.g. the relay test).
  const Native = window.RTCPeerConnection;
  if (Native) {
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        window.__e2e.peerConnections.push(this);
        mark('peer connection');
        this.addEventListener('iceconnectionstatechange', () => {
          if (['connected', 'completed'].includes(this.iceConnectionState)) mark('ICE connected');
        });
        this.addEventListener('connectionstatechange', () => {
          if (this.connectionState === 'connected') mark('DTLS connected');
        });
      }
    };
  }
  const note = (event) => {
    const video = event.target;
    if (!(video instanceof HTMLVideoElement) || video.videoWidth === 0) return;
    const tile = video.closest('[data-participant], [data-screen]');
    if (!tile || tile.hasAttribute('data-local')) return;
    if (window.__e2e.firstRemoteFrameAt === null) window.__e2e.firstRemoteFrameAt = Date.now();
  };
  for (const type of ['resize', 'loadeddata', 'playing', 'timeupdate']) {
    document.addEventListener(type, note, true);
  }
}

/** Does this websocket frame carry an SDP offer or answer? (protocol v1: signal/description) */
function isDescription(payload) {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  try {
    const message = JSON.parse(text);
    const description = message && message.signal && message.signal.description;
    if (message.type === 'signal' && message.signal.kind === 'description') return description.type || true;
    return false;
  } catch {
    return /"type"\s*:\s*"(offer|answer)"/.test(text) && /"sdp"\s*:/.test(text) ? 'unknown' : false;
  }
}

/**
 * A WAV file (mono, 16-bit, 48 kHz, 2 s, which Chromium loops) for a fake microphone: a loud
 * 440 Hz tone or silence, written once into e2e/out; returns its path.
 */
function fakeMicrophoneFile(sound) {
  if (sound !== 'tone' && sound !== 'silence') throw new Error(`no fake microphone sound ${sound}`);
  const file = path.join(OUT, `microphone-${sound}.wav`);
  if (fs.existsSync(file)) return file;
  const rate = 48_000;
  const samples = rate * 2;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // bytes per frame
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  const amplitude = sound === 'tone' ? 0.7 * 32_767 : 0;
  for (let i = 0; i < samples; i += 1) {
    wav.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  }
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(file, wav);
  return file;
}

/** The tiles of a `view` message, or null for any other frame. */
function viewTiles(payload) {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (!text.includes('"view"')) return null;
  try {
    const message = JSON.parse(text);
    return message.type === 'view' ? message.tiles : null;
  } catch {
    return null;
  }
}

/** One participant: a browser process of its own, with a fresh profile directory, and one page. */
class Participant {
  constructor(name, profile, context, page) {
    this.name = name;
    this.profile = profile;
    this.context = context;
    this.page = page;
    this.console = [];
    this.sentDescriptions = [];
    /** Every `view` the page sent (sfu rooms), oldest first: `{ at, tiles }`. */
    this.sentViews = [];
    this.joinStartedAt = null;
    this.closed = false;
    page.on('console', (msg) => this.console.push(`[${msg.type()}] ${msg.text()}`));
    page.on('pageerror', (err) => this.console.push(`[pageerror] ${err.stack || err.message}`));
    page.on('requestfailed', (req) => this.console.push(`[requestfailed] ${req.url()} ${req.failure()?.errorText}`));
    page.on('websocket', (ws) => {
      this.console.push(`[websocket] open ${ws.url()}`);
      ws.on('framesent', ({ payload }) => {
        const kind = isDescription(payload);
        if (kind) this.sentDescriptions.push({ at: Date.now(), kind });
        const tiles = viewTiles(payload);
        if (tiles) this.sentViews.push({ at: Date.now(), tiles });
      });
      ws.on('framereceived', ({ payload }) => {
        // The ICE servers handed out are the first thing to check when media does not flow.
        if (typeof payload === 'string' && payload.includes('"joined"')) {
          this.console.push(`[websocket] joined, ice_servers: ${JSON.stringify(JSON.parse(payload).ice_servers)}`);
        }
        // Who the SFU says speaks, for tests of the speaker highlight.
        if (typeof payload === 'string' && payload.includes('"active_speaker"')) {
          this.console.push(`[websocket] ${payload}`);
        }
      });
      ws.on('close', () => this.console.push(`[websocket] closed ${ws.url()}`));
    });
  }

  /** Closes the tab the way a user does: the page goes, its unload handlers may run. */
  async closeTab() {
    this.closed = true;
    await this.page.close({ runBeforeUnload: false }).catch(() => {});
  }

  /**
   * The browser process dies: no unload, no goodbye, sockets torn down by the kernel. Playwright
   * has no handle on a persistent context's process, so find it by its profile directory.
   */
  crash() {
    this.closed = true;
    const killed = this.kill((argv) => !argv.some((arg) => arg.startsWith('--type=')));
    if (killed === 0) throw new Error(`no browser process found for ${this.profile}`);
  }

  /**
   * Kills this participant's browser processes that `which` picks, found by their profile
   * directory; how many were.
   * @param {(argv: string[]) => boolean} which
   */
  kill(which) {
    const flag = `--user-data-dir=${this.profile}`;
    let killed = 0;
    for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      let argv;
      try {
        argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue; // gone meanwhile
      }
      if (argv.includes(flag) && which(argv)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
          killed += 1;
        } catch {
          // gone meanwhile
        }
      }
    }
    return killed;
  }

  async close() {
    this.closed = true;
    await this.context.close().catch(() => {});
    // A crashed browser's children may outlive it and keep writing into the profile: kill them,
    // and remove again while files appear (rmSync's own retries do not look at the directory anew).
    const deadline = Date.now() + 10_000;
    for (;;) {
      this.kill(() => true);
      try {
        fs.rmSync(this.profile, { recursive: true, force: true });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

/** Number of SDP descriptions (offers + answers) this page has sent so far. */
function countSignals(participant) {
  return participant.sentDescriptions.length;
}

/**
 * A test's world: one server and the participants in it, torn down at the end; on failure a
 * screenshot and the console of every page and the server log land in e2e/out/.
 */
class Scenario {
  constructor(name) {
    this.name = name;
    this.slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
    this.participants = [];
    this.server = null;
    /** A cluster (e2e/cluster.js) instead of one server: pages come in through its entry. */
    this.cluster = null;
    this.joinTimes = [];
    /** The server's database lives and dies with the scenario, restarts included. */
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-e2e-data-'));
  }

  async startServer(options = {}) {
    this.server = await Server.start({ dataDir: this.dataDir, ...options });
    return this.server;
  }

  roomUrl(room, params = {}) {
    const query = new URLSearchParams({ quality: 'low', ...params });
    const origin = this.cluster ? this.cluster.entry : this.server.url;
    return `${origin}/r/${encodeURIComponent(room)}?${query}`;
  }

  /**
   * A new browser for `name`, not yet on any page. `microphone: 'tone' | 'silence'` gives it a
   * fake microphone of its own (else Chromium's beep).
   */
  async launch(name, { extraArgs = [], microphone } = {}) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), `huddle-e2e-${name}-`));
    const micArgs = microphone ? [`--use-file-for-fake-audio-capture=${fakeMicrophoneFile(microphone)}`] : [];
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...micArgs, ...extraArgs],
      viewport: { width: 1280, height: 720 },
      timeout: 60_000,
    });
    await context.addInitScript(installProbes);
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(30_000);
    const participant = new Participant(name, profile, context, page);
    this.participants.push(participant);
    return participant;
  }

  /**
   * Opens `/r/<room>?name=<name>&quality=low`, which joins at once (no pre-join screen).
   * `extraArgs` go to this participant's Chromium; `microphone` as in `launch`.
   */
  async join(room, name, params = {}, { extraArgs = [], microphone } = {}) {
    const participant = await this.launch(name, { extraArgs, microphone });
    participant.joinStartedAt = Date.now();
    await participant.page.goto(this.roomUrl(room, { name, ...params }), { waitUntil: 'domcontentloaded' });
    return participant;
  }

  /** Several participants into one room, one after the other, each connected before the next. */
  async joinAll(room, names, params = {}) {
    const joined = [];
    for (const name of names) {
      const participant = await this.join(room, name, params);
      await waitConnected(participant.page);
      joined.push(participant);
    }
    return joined;
  }

  /** Join -> first decoded remote frame of each who joined where someone was, for the suite's median. */
  async recordJoinTimes(participants) {
    const times = [];
    const someoneWasThere = (p) => this.participants
      .some((o) => o.joinStartedAt !== null && o.joinStartedAt < p.joinStartedAt);
    for (const p of participants.filter(someoneWasThere)) {
      const probes = await p.page.evaluate(() => window.__e2e && {
        at: window.__e2e.firstRemoteFrameAt,
        marks: window.__e2e.marks,
        mode: document.body.dataset.mediaMode,
      });
      if (!probes || !probes.at || !p.joinStartedAt) continue;
      // Each step as ms from the join's start, in the order they happened.
      const steps = Object.fromEntries(Object.entries(probes.marks)
        .map(([step, at]) => [step, at - p.joinStartedAt])
        .sort((a, b) => a[1] - b[1]));
      times.push({ test: this.name, name: p.name, mode: probes.mode, ms: probes.at - p.joinStartedAt, steps });
    }
    fs.mkdirSync(OUT, { recursive: true });
    for (const t of times) fs.appendFileSync(JOIN_TIMES, `${JSON.stringify(t)}\n`);
    this.joinTimes.push(...times);
    return times.map((t) => t.ms);
  }

  async dump(error) {
    fs.mkdirSync(OUT, { recursive: true });
    const base = path.join(OUT, this.slug);
    const lines = [`${this.name}: ${error && error.stack ? error.stack : error}`, ''];
    for (const [i, p] of this.participants.entries()) {
      const file = `${base}-${i}-${p.name}`;
      if (!p.closed && !p.page.isClosed()) {
        await p.page.screenshot({ path: `${file}.png`, timeout: 10_000 }).catch(() => {});
        const html = await p.page.content().catch(() => '');
        if (html) fs.writeFileSync(`${file}.html`, html);
      }
      fs.writeFileSync(`${file}.console.log`, p.console.join('\n') + '\n');
      lines.push(`participant ${p.name}: ${file}.{png,html,console.log}`);
    }
    if (this.server) {
      fs.writeFileSync(`${base}-server.log`, `huddle ${this.server.argv.join(' ')}\n${this.server.log.join('')}`);
      lines.push(`server log: ${base}-server.log`);
    }
    if (this.cluster) {
      this.cluster.dump(base);
      lines.push(`cluster logs: ${base}-node-*.log, -postgres.log, -redis.log, -haproxy.log`);
    }
    fs.writeFileSync(`${base}-failure.txt`, lines.join('\n') + '\n');
    console.error(`artifacts of the failure: ${base}-*`);
  }

  /** Stops the server and starts a new one on the same port: every session is lost. */
  async restartServer(options = {}) {
    const { port } = this.server;
    await this.server.stop();
    await sleep(options.downFor || 0);
    this.server = await Server.start({ dataDir: this.dataDir, ...options, port });
    return this.server;
  }

  async teardown() {
    // The server is stopped even if a browser's cleanup fails: a live child would keep the test
    // process from ever exiting.
    const closed = await Promise.allSettled(this.participants.map((p) => p.close()));
    if (this.server) await this.server.stop();
    if (this.cluster) await this.cluster.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    const failed = closed.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Runs `body(scenario)` and always cleans up; on failure first saves what helps debugging.
 * The server's own shutdown is part of the test: a server that ignores SIGTERM fails it.
 */
async function scenario(name, body) {
  const world = new Scenario(name);
  try {
    await body(world);
  } catch (err) {
    await world.dump(err).catch((dumpErr) => console.error('could not save artifacts:', dumpErr));
    await world.teardown().catch(() => {});
    throw err;
  }
  await world.teardown();
}

async function waitConnected(page, timeout = 30_000) {
  await page.waitForSelector('body[data-connection="connected"]', { timeout, state: 'attached' });
}

/** Peer connections of the page that are not closed. */
const openPeerConnections = (page) =>
  page.evaluate(() => window.__e2e.peerConnections.filter((pc) => pc.connectionState !== 'closed').length);

/** The participant id the server gave this page, read off its own tile. */
async function ownId(page) {
  const id = await page.getAttribute('[data-participant][data-local]', 'data-participant', { timeout: 30_000 });
  if (!id) throw new Error('own tile has no data-participant id');
  return id;
}

const tileOf = (id) => `[data-participant="${id.replace(/"/g, '\\"')}"]`;

function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** The values body[data-connection] has taken so far, in order. */
const connectionStates = (page) => page.evaluate(() => window.__e2e.connectionStates);

/** A room name no other test uses. */
const roomName = (prefix) => `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

export {
  framesAdvancing,
  gaps,
  outboundLayers,
  remoteVideoStats,
  sampleGaps,
  selectedCandidateTypes,
  tileInboundVideo,
  waitForRemoteVideos,
} from './probes.js';
export { sleep, waitUntil } from './wait.js';

export {
  CHROMIUM_ARGS,
  freePort,
  serverBinary,
  JOIN_TIMES,
  OUT,
  ROOT,
  Scenario,
  Server,
  connectionStates,
  countSignals,
  median,
  openPeerConnections,
  ownId,
  roomName,
  scenario,
  tileOf,
  waitConnected,
};
