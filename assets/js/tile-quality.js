// How well each remote participant comes through: measured every few seconds from the stats of
// the connection that carries them, graded by quality.js, shown on their tile.

import { readStats, lossBetween, grade, describe } from './quality.js';

/** @import { TileGrid } from './tiles.js' */
/** @import { MediaConnection } from './media-connection.js' */
/** @import { PacketCount } from './quality.js' */

/** How often each remote tile's network quality is measured. */
const QUALITY_EVERY_MS = 3_000;

export class TileQuality {
  /**
   * @param {object} options
   * @param {TileGrid} options.grid
   * @param {() => MediaConnection | null} options.connection the connection the tiles show
   */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, PacketCount>} the previous reading per remote participant */
    this.packets = new Map();
    setInterval(() => this.measure(), QUALITY_EVERY_MS);
  }

  /** @private */
  async measure() {
    const connection = this.options.connection();
    if (!connection || document.hidden) return;
    for (const [id, tile] of this.options.grid.remotes) {
      const stats = await connection.receivedStats(id).catch(() => null);
      if (!stats) continue;
      const { packets, rtt, jitter } = readStats(stats.report, stats.mids);
      const quality = { loss: lossBetween(this.packets.get(id), packets), rtt, jitter };
      this.packets.set(id, packets);
      tile.setQuality(grade(quality), describe(quality));
    }
  }

  /** A (re-)join: everybody has a new id, and the counts start afresh. */
  clear() {
    this.packets.clear();
  }
}
