// The others' tiles, drawn from the call's participants and its media connections: which
// connection's streams each tile shows (the current one; during a switch the new one once it
// decoded a frame of that video), the screen-share tile beside the camera's, the connection state
// on each tile, and the tile sizes an SFU connection is told (views.js).

import { setSpeaker } from './media.js';

/** @import { CallConnections } from './connections.js' */
/** @import { MediaConnection } from './media-connection.js' */
/** @import { Participant, TileSource } from './protocol.js' */
/** @import { TileGrid } from './tiles.js' */
/** @import { ViewReporter } from './views.js' */
/** @import { HostControls } from './moderation.js' */
/** @import { MeshEvent } from './mesh.js' */
/** @import { SfuEvent } from './sfu.js' */

const TILE_SOURCES = /** @type {TileSource[]} */ (['camera', 'screen']);

export class RemoteTiles {
  /**
   * @param {object} options
   * @param {TileGrid} options.grid
   * @param {ViewReporter} options.views
   * @param {CallConnections} options.connections
   * @param {HostControls} options.host
   * @param {(id: string) => Participant | undefined} options.participant
   * @param {() => string} options.audioOutput the speaker device the tiles play on
   */
  constructor(options) {
    this.options = options;
  }

  /**
   * Shows a participant, new or changed.
   * @param {Participant} participant
   */
  show(participant) {
    const { grid, views, connections, host } = this.options;
    const connection = connections.shownBy(participant.id);
    const tile = grid.remote(participant.id);
    tile.element.dataset.role = participant.role ?? 'participant';
    host.decorate(participant.id, tile.element);
    tile.setName(participant.name);
    tile.setMedia(participant);
    tile.attach(connection.remote(participant.id).camera);
    setSpeaker(tile.video, this.options.audioOutput());
    const sfu = connections.of('sfu');
    if (sfu) views.watch(participant.id, tile.element, tile.video);
    // One SFU connection carries everybody: a new tile starts in its state.
    if (sfu === connection) tile.setPeerState(sfu.pc.connectionState);
    this.drawScreen(participant, connections.shownBy(participant.id, 'screen').remote(participant.id).screen);
  }

  /** @param {string} id who left */
  remove(id) {
    this.options.views.unwatch(id);
    this.options.grid.removeRemote(id);
  }

  /** Everybody goes: a (re-)join or the end of the call. */
  clear() {
    this.options.views.clear();
    this.options.grid.removeAllRemotes();
  }

  /**
   * Shows in `id`'s tiles (both, or only `source`'s) what `connection` receives from it.
   * @param {MediaConnection} connection
   * @param {string} id
   * @param {TileSource} [source]
   */
  showFrom(connection, id, source) {
    const participant = this.options.participant(id);
    if (!participant) return;
    const remote = connection.remote(id);
    if (source !== 'screen') this.options.grid.remote(id).attach(remote.camera);
    if (source !== 'camera') this.drawScreen(participant, remote.screen);
  }

  /**
   * What a connection says about its tracks and its state.
   * @param {MediaConnection} source
   * @param {MeshEvent | SfuEvent} event
   */
  connectionEvent(source, event) {
    const { connections, grid } = this.options;
    if (event.kind === 'tracks') {
      const participant = this.options.participant(event.id);
      if (!participant) return;
      connections.tracksArrived(source, participant);
      for (const kind of TILE_SOURCES) {
        if (connections.shownBy(event.id, kind) === source) this.showFrom(source, event.id, kind);
      }
    } else if (event.kind === 'connection' && 'id' in event) {
      if (connections.shownBy(event.id) === source) grid.remotes.get(event.id)?.setPeerState(event.state);
    } else if (event.kind === 'connection') {
      // One connection carries everyone: its state is that of every remote tile it shows.
      for (const [id, tile] of grid.remotes) {
        if (connections.shownBy(id) === source) tile.setPeerState(event.state);
      }
    }
  }

  /** Reports every tile to the SFU afresh (a new connection to it knows none). */
  watchAll() {
    const { grid, views } = this.options;
    views.clear();
    for (const [id, tile] of grid.remotes) views.watch(id, tile.element, tile.video);
    for (const [id, tile] of grid.screens) views.watch(id, tile.element, tile.video, 'screen');
  }

  /**
   * Shows a participant's screen share in its tile, or takes the tile away when it shares none.
   * @private
   * @param {Participant} participant
   * @param {MediaStream} stream
   */
  drawScreen(participant, stream) {
    const { grid, views, connections } = this.options;
    if (!participant.screen) {
      grid.removeScreen(participant.id);
      views.unwatch(participant.id, 'screen');
      return;
    }
    const tile = grid.showScreen(participant.id, participant.name, stream);
    if (connections.of('sfu')) views.watch(participant.id, tile.element, tile.video, 'screen');
  }
}
