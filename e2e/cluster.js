// A huddle cluster on this machine for the browser tests, as a deployment has it (docs/cluster.md):
// PostgreSQL and Redis on free loopback ports, huddle nodes sharing them (each its own data
// directory, its public URL its own address), and Debian's haproxy in front of them with health
// checks on /healthz. Browsers come in through haproxy, the cluster's entry address.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Server, freePort, serverBinary, sleep, waitUntil } from './harness.js';

/** A child process that lives until `stop()`, its output kept for a failure's artifacts. */
class Process {
  constructor(command, args) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.log = [];
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => this.log.push(chunk));
    }
  }

  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}

/**
 * PostgreSQL refuses to run as root; as root (CI, or the tests' namespace, where everybody is),
 * it runs as an ordinary user of a user namespace of its own.
 */
function unprivileged(program, args) {
  return process.getuid() === 0 ? ['unshare', ['--map-user=1000', '--map-group=1000', program, ...args]] : [program, args];
}

function postgresBin() {
  const versions = fs.readdirSync('/usr/lib/postgresql').sort();
  const bin = path.join('/usr/lib/postgresql', versions.at(-1), 'bin');
  if (!fs.existsSync(path.join(bin, 'postgres'))) throw new Error('PostgreSQL is missing: scripts/test installs it');
  return bin;
}

async function startPostgres(dir) {
  const bin = postgresBin();
  const data = path.join(dir, 'pg');
  const [initdb, initArgs] = unprivileged(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [command, args] = unprivileged(path.join(bin, 'postgres'),
    ['-D', data, '-k', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
  const postgres = new Process(command, args);
  await waitUntil('PostgreSQL to accept connections', () =>
    spawnSync(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0,
  { timeout: 30_000, interval: 100 });
  postgres.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return postgres;
}

async function startRedis(port) {
  const redis = new Process('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitUntil('Redis to answer', () => redisCli(port, ['PING']) === 'PONG', { timeout: 20_000, interval: 100 });
  return redis;
}

function redisCli(port, args) {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
}

/** haproxy in front of `nodes`, checking each one's /healthz twice a second. */
async function startBalancer(dir, port, nodes) {
  const config = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(config, [
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout tunnel 1h',
    // A connection to a node that just died is tried on another.
    '  option redispatch',
    '  retries 2',
    'frontend entry',
    `  bind 127.0.0.1:${port}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    ...nodes.map(({ id, server }) => `  server ${id} 127.0.0.1:${server.port} check inter 500ms fall 2 rise 1`),
    '',
  ].join('\n'));
  const balancer = new Process('haproxy', ['-db', '-f', config]);
  const entry = `http://127.0.0.1:${port}`;
  await waitUntil('haproxy to pass requests on', async () =>
    (await fetch(`${entry}/healthz`).then((res) => res.status, () => 0)) === 200, { timeout: 20_000, interval: 100 });
  return balancer;
}

export class Cluster {
  /**
   * Nodes named `ids` behind haproxy; `args` go to every node.
   * @param {string[]} ids
   * @param {string[]} [args]
   */
  static async start(ids, args = []) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-e2e-cluster-'));
    const cluster = new Cluster(dir);
    cluster.postgres = await startPostgres(dir);
    cluster.redisPort = await freePort();
    cluster.redis = await startRedis(cluster.redisPort);
    const entryPort = await freePort();
    cluster.entry = `http://127.0.0.1:${entryPort}`;
    for (const id of ids) {
      const port = await freePort();
      const dataDir = path.join(dir, id);
      fs.mkdirSync(dataDir);
      const server = await Server.start({
        port,
        dataDir,
        args: ['--cluster', `redis://127.0.0.1:${cluster.redisPort}`, '--database-url', cluster.postgres.url,
          '--node-id', id, '--public-url', `http://127.0.0.1:${port}`,
          // Pages come from the entry and open signaling on any node.
          '--allowed-origin', cluster.entry, ...args],
      });
      cluster.nodes.push({ id, server, dataDir });
    }
    for (const { id, server } of cluster.nodes) {
      await waitUntil(`node ${id} to see every node`, async () => (await server.metric('huddle_cluster_nodes')) === ids.length,
        { timeout: 20_000, interval: 100 });
    }
    cluster.balancer = await startBalancer(dir, entryPort, cluster.nodes);
    return cluster;
  }

  constructor(dir) {
    this.dir = dir;
    /** @type {{ id: string, server: Server, dataDir: string }[]} */
    this.nodes = [];
    this.entry = '';
  }

  /** Stops Redis and, after `downMs`, starts an empty one on the same port. */
  async restartRedis(downMs) {
    await this.redis.stop();
    await sleep(downMs);
    this.redis = await startRedis(this.redisPort);
  }

  /** The id of the node holding `room`'s lease now, or null. */
  home(room) {
    const held = redisCli(this.redisPort, ['GET', `huddle:room:${room}:home`]);
    return held ? held.slice(0, held.lastIndexOf('/')) : null;
  }

  node(id) {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** `huddle drain` on node `id`: resolves with its output once the node has stopped. */
  async drain(id) {
    const drain = new Process(serverBinary(), ['drain', '--data-dir', this.node(id).dataDir]);
    const code = await drain.exited;
    if (code !== 0) throw new Error(`huddle drain failed (${code}): ${drain.log.join('')}`);
    return drain.log.join('');
  }

  /** Writes the logs of every process into files starting with `base`. */
  dump(base) {
    for (const { id, server } of this.nodes) {
      fs.writeFileSync(`${base}-node-${id}.log`, `huddle ${server.argv.join(' ')}\n${server.log.join('')}`);
    }
    for (const [name, process] of [['postgres', this.postgres], ['redis', this.redis], ['haproxy', this.balancer]]) {
      if (process) fs.writeFileSync(`${base}-${name}.log`, process.log.join(''));
    }
  }

  async stop() {
    await this.balancer?.stop();
    for (const { server } of this.nodes) await server.stop();
    await this.redis?.stop();
    await this.postgres?.stop('SIGINT');
    await sleep(0);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
