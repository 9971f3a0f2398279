// Who is talking, outlined on their tile ([data-speaking]). In sfu rooms the server says who
// (`active_speaker`, from the audio-level header extension); in a mesh each peer connection's audio
// level is measured here. The grid puts the speaker's tile on its first page.

/** @import { TileGrid } from './tiles.js' */
/** @import { MediaConnection } from './media-connection.js' */
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
   * @param {() => boolean} options.ownAudio whether our microphone is on
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

  /**
   * Outlines the tiles of whoever is talking ([data-speaking]) and tells the grid who speaks now:
   * the SFU's active speaker, or in a mesh the loudest peer, kept until another is louder.
   */
  draw() {
    const { grid, connection, participant } = this.options;
    const current = connection();
    const sfu = current?.mode === 'sfu';
    let speaker = { id: grid.remotes.has(grid.speaker) ? grid.speaker : '', level: SPEAKING_LEVEL };
    for (const [id, tile] of grid.remotes) {
      const audio = Boolean(participant(id)?.audio);
      const level = audio && !sfu ? current?.audioLevel(id) ?? 0 : 0;
      const speaking = sfu ? audio && id === this.activeSpeaker : level > SPEAKING_LEVEL;
      tile.element.classList.toggle('speaking', speaking);
      tile.element.toggleAttribute('data-speaking', speaking);
      if (level > speaker.level) speaker = { id, level };
    }
    if (sfu) speaker.id = participant(this.activeSpeaker)?.audio ? this.activeSpeaker : '';
    // The SFU also says when we are the one speaking; a mesh measures only the others.
    const self = grid.local.element.dataset.participant;
    const selfSpeaking = sfu && Boolean(self) && self === this.activeSpeaker && this.options.ownAudio();
    grid.local.element.classList.toggle('speaking', selfSpeaking);
    grid.local.element.toggleAttribute('data-speaking', selfSpeaking);
    grid.setSpeaker(speaker.id);
  }
}
