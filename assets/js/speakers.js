// Who is talking, outlined on their tile. In sfu rooms the server says who (`active_speaker`, from
// the audio-level header extension); in a mesh each peer connection's audio level is measured here.

import { SfuConnection } from './sfu.js';

/** @import { TileGrid } from './tiles.js' */
/** @import { MediaConnection } from './connection.js' */
/** @import { Participant } from './protocol.js' */

/** A mesh peer louder than this (0..1) is speaking. */
const SPEAKING_LEVEL = 0.05;
/** How often mesh audio levels are read. */
const HIGHLIGHT_EVERY_MS = 400;

export class SpeakerHighlight {
  /**
   * @param {object} options
   * @param {TileGrid} options.grid
   * @param {() => MediaConnection | null} options.connection the connection the tiles show
   * @param {(id: string) => Participant | undefined} options.participant
   */
  constructor(options) {
    this.options = options;
    /** The participant the SFU says is speaking (sfu rooms). */
    this.activeSpeaker = '';
    setInterval(() => this.draw(), HIGHLIGHT_EVERY_MS);
  }

  /** @param {string} id the server's `active_speaker` */
  setActive(id) {
    this.activeSpeaker = id;
    this.draw();
  }

  /** Forgets the speaker (a new call). */
  clear() {
    this.activeSpeaker = '';
  }

  /** Outlines the tiles of whoever is talking. */
  draw() {
    const { grid, connection, participant } = this.options;
    const current = connection();
    for (const [id, tile] of grid.remotes) {
      const audio = Boolean(participant(id)?.audio);
      if (current instanceof SfuConnection) {
        tile.element.classList.toggle('speaking', audio && id === this.activeSpeaker);
        continue;
      }
      const level = audio ? current?.audioLevel(id) ?? 0 : 0;
      tile.element.classList.toggle('speaking', level > SPEAKING_LEVEL);
    }
  }
}
