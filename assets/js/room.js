// The room page, /r/<room>: pre-join screen, the call, and the screens that end it.
// Wires UI-free parts together: `Signaling` (protocol.js), a `MediaConnection` (media-connection.js) that
// is `Mesh` (mesh.js) or `SfuConnection` (sfu.js) as `joined.settings.media_mode` says, and
// `LocalMedia` (media.js); everything on screen is drawn from their events. Both kinds of
// connection feed the same tiles; sfu rooms also report tile sizes (`view`, views.js). Who speaks
// is outlined by speakers.js, the notice bar is notice.js's.
// Chat, whiteboard, title, hands, reactions and files are collab.js's: the room events go there.
// When an auto room switches (`media_mode`), `CallConnections` (connections.js) brings up the other
// kind of connection next to the current one and moves the tiles over one by one without a gap.
// The device pickers are devices.js's; our own tile, preview and buttons own-media.js's; the grid's
// pages pages.js's.
//
// Query options: ?name=<n> joins at once (no pre-join), ?quality=low asks for 320x180 @ 15 fps,
// ?ice=relay forces TURN (iceTransportPolicy 'relay'), ?page_size=<n> forces n remote tiles per grid
// page (else as many as fit, pages.js).
//
// Stable hooks for tests (keep them when changing the markup):
//   body[data-connection="connecting|connected|reconnecting|closed"]; body[data-media-mode] and
//   body[data-media-switch]: see connections.js
//   [data-prejoin] with [data-name-input] and [data-join]; [data-room-full]; [data-join-error="<code>"];
//   [data-left] after leaving
//   tiles: see tiles.js ([data-participant], [data-local], [data-audio], [data-video], [data-screen])
//   controls: [data-action="toggle-audio|toggle-video|share-screen|follow-speaker|leave"]
//   pickers: see devices.js
//   the room's name on the pre-join screen: [data-room-name]; the rest: see collab.js's modules

import { Signaling } from './protocol.js';
import { Mesh } from './mesh.js';
import { SLOTS } from './media-connection.js';
import { SfuConnection } from './sfu.js';
import { ViewReporter } from './views.js';
import { Pager, pageSizeFrom } from './pages.js';
import { CallConnections } from './connections.js';
import { LocalMedia, canShareScreen, setSpeaker } from './media.js';
import { DevicePickers, savedDevices } from './devices.js';
import { saved } from './saved.js';
import { TileGrid, unmuteBlocked, whenAutoplayBlocked } from './tiles.js';
import { cleanDisplayName, isValidRoomName } from './names.js';
import { element, all, show } from './dom.js';
import { Collaboration } from './collab.js';
import { HostControls } from './moderation.js';
import { describeEnd } from './endings.js';
import { notify } from './notice.js';
import { drawOwnMedia } from './own-media.js';
import { SpeakerHighlight } from './speakers.js';

/** @import { Participant, SignalingEvent, ServerMessage, EndReason, MediaState, ConnectionState, RoomEvent, Role, MediaMode, IceServer, TileSource } from './protocol.js' */
/** @import { MeshEvent } from './mesh.js' */
/** @import { SfuEvent } from './sfu.js' */
/** @import { MediaConnection } from './media-connection.js' */
/** @import { MediaEvent } from './media.js' */

const params = new URLSearchParams(location.search);
const TILE_SOURCES = /** @type {TileSource[]} */ (['camera', 'screen']);
const room = decodeURIComponent(location.pathname.replace(/^\/r\//, '').replace(/\/$/, ''));
const iceTransportPolicy = params.get('ice') === 'relay' ? 'relay' : 'all';
/** A join token from an invitation link (`?token=`): it names the room, our role, maybe our name. */
const token = params.get('token') ?? undefined;

const screens = {
  prejoin: element('[data-prejoin]', HTMLElement),
  call: element('[data-call]', HTMLElement),
  roomFull: element('[data-room-full]', HTMLElement),
  joinError: element('[data-join-error]', HTMLElement),
  left: element('[data-left]', HTMLElement),
  passwordPrompt: element('[data-password-prompt]', HTMLElement),
  waiting: element('[data-lobby-waiting]', HTMLElement),
};
const devicePickers = element('[data-devices]', HTMLElement);
const nameInput = element('[data-name-input]', HTMLInputElement);
/** Tile sizes and visibility for the SFU; only fed in sfu rooms. */
const views = new ViewReporter((tiles) => call.signaling?.view(tiles));
const pager = new Pager((step) => grid.turnPage(step));
const grid = new TileGrid(element('[data-grid]', HTMLElement), {
  pageSize: pageSizeFrom(params.get('page_size')),
  paged: (page, count) => {
    pager.draw(page, count);
    views.changed();
  },
});
const host = new HostControls((action) => call.signaling?.moderate(action));

const quality = params.get('quality') === 'low' ? 'low' : 'default';
const media = new LocalMedia({
  quality,
  preferred: savedDevices(),
  listener: onMediaEvent,
});
const pickers = new DevicePickers({ media, speakers: () => grid.remoteVideos(), changed: () => drawLocal() });

/** The call's state: who we are in it and whom we see. */
const call = {
  name: '',
  /** @type {Signaling | null} */
  signaling: null,
  /** @type {IceServer[]} from `joined`, for connections made later by a switch */
  iceServers: [],
  selfId: '',
  /** @type {Role} */
  role: 'participant',
  /** @type {Map<string, Participant>} */
  participants: new Map(),
  /** @type {MediaState | null} what the others were last told */
  announced: null,
};

const connections = new CallConnections({
  connect,
  show: showFrom,
  participants: () => call.participants.values(),
  switching: (mode) => {
    if (mode === 'sfu') watchTiles();
  },
  switched: (mode) => {
    if (mode === 'mesh') views.clear();
  },
});

const speakers = new SpeakerHighlight({
  grid,
  connection: () => connections.current,
  participant: (id) => call.participants.get(id),
  ownAudio: () => media.state.audio,
});

const collab = new Collaboration({
  room,
  grid,
  act: (action) => call.signaling?.act(action),
  people: () => [
    { id: call.selfId, name: call.name, self: true, ...media.state },
    ...[...call.participants.values()].map((participant) => ({ ...participant, self: false })),
  ],
  connection: () => connections.current,
  notify,
});

/**
 * The secret that makes our scheduled messages and drawings still ours after a reload; the server
 * keeps only its hash.
 */
function identity() {
  let secret = saved.get('identity');
  if (secret.length < 16) {
    secret = [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, '0')).join('');
    saved.set('identity', secret);
  }
  return secret;
}

/** @param {keyof typeof screens} which */
function showScreen(which) {
  for (const [key, section] of Object.entries(screens)) show(section, key === which);
}

// ---- Pre-join ---------------------------------------------------------------------------------

async function start() {
  element('[data-room-name]', HTMLElement).textContent = room;
  document.title = `${room} · huddle`;
  if (!isValidRoomName(room)) {
    showEnded({ kind: 'refused', code: 'invalid_room', message: '' });
    return;
  }
  wireControls();
  const fromUrl = cleanDisplayName(params.get('name') ?? '');
  if (fromUrl) {
    await media.start({ audio: true, video: true });
    await pickers.refresh();
    enterCall(fromUrl);
    return;
  }
  nameInput.value = saved.get('name');
  showScreen('prejoin');
  element('[data-prejoin-devices]', HTMLElement).append(devicePickers);
  await media.start({ audio: saved.get('audio') !== 'off', video: saved.get('video') !== 'off' });
  await pickers.refresh();
  drawLocal();
  (nameInput.value ? element('[data-join]', HTMLButtonElement) : nameInput).focus();
}

function submitPrejoin() {
  const name = cleanDisplayName(nameInput.value);
  const error = element('[data-form-error]', HTMLElement);
  if (!name) {
    error.textContent = 'Please enter your name, so the others know who you are.';
    show(error, true);
    nameInput.focus();
    return;
  }
  show(error, false);
  saved.set('name', name);
  enterCall(name);
}

// ---- The call ---------------------------------------------------------------------------------

/**
 * @param {string} name
 * @param {string} [password] the room's, when it asked for one
 */
function enterCall(name, password) {
  call.name = name;
  showScreen('call');
  element('[data-settings]', HTMLElement).append(devicePickers);
  grid.local.setName(`${name} (you)`, name);
  drawLocal();
  grid.layout();
  call.announced = media.state;
  call.signaling = new Signaling(onSignalingEvent);
  call.signaling.join(room, name, media.state, { token, password }, identity());
}

/** @param {SignalingEvent} event */
function onSignalingEvent(event) {
  if (event.kind === 'state') showConnection(event.state);
  else if (event.kind === 'message') onServerMessage(event.message);
  else showEnded(event.reason);
}

/** @param {ServerMessage} message */
function onServerMessage(message) {
  switch (message.type) {
    case 'joined': {
      // A fresh start, also after a reconnect: the server gave us a new id and the others new peers.
      connections.close();
      views.clear();
      grid.removeAllRemotes();
      call.participants.clear();
      speakers.clear();
      call.selfId = message.you;
      grid.local.element.dataset.participant = message.you;
      showScreen('call');
      setRole(message.role ?? 'participant');
      if (message.access) host.setAccess(message.access);
      call.iceServers = message.ice_servers;
      const mode = message.settings?.media_mode === 'sfu' ? 'sfu' : 'mesh';
      connections.open(mode);
      call.announced = media.state;
      announce();
      for (const participant of message.participants) {
        if (participant.id !== message.you) addParticipant(participant);
      }
      collab.joined(message);
      break;
    }
    case 'participant_joined':
    case 'participant_updated':
      if (message.participant.id === call.selfId) setRole(message.participant.role ?? call.role);
      addParticipant(message.participant);
      collab.peopleChanged();
      break;
    case 'waiting':
      showScreen('waiting');
      break;
    case 'knocking':
      host.knock(message.participant);
      notify(`${message.participant.name} is waiting to be let in.`);
      break;
    case 'knock_ended':
      host.knockEnded(message.id);
      break;
    case 'access_changed':
      host.setAccess(message.access);
      break;
    case 'moderated':
      if (message.action === 'mute') media.setMic(false);
      else {
        media.stopScreen();
        media.setCamera(false);
      }
      notify(message.action === 'mute' ? 'A host muted your microphone.' : 'A host turned your camera off.');
      break;
    case 'participant_left':
      call.participants.delete(message.id);
      connections.remove(message.id);
      views.unwatch(message.id);
      grid.removeRemote(message.id);
      collab.peopleChanged();
      break;
    case 'signal':
      if (message.from !== call.selfId) connections.of(Mesh)?.handleSignal(message.from, message.signal);
      break;
    case 'sfu_signal':
      connections.of(SfuConnection)?.handleSignal(message.signal);
      break;
    case 'sfu_track':
      connections.of(SfuConnection)?.mapTrack(message.participant, message.source, message.mid);
      break;
    case 'media_mode':
      connections.switchTo(message.mode);
      break;
    case 'active_speaker':
      speakers.setActive(message.participant);
      break;
    case 'sfu_ended':
      // Before the new connection's offer, which the server then gives the fresh place.
      call.signaling?.sfuConnect();
      connections.reconnectSfu();
      break;
    case 'error':
      if (collab.error(message.code, message.message)) break;
      if (message.code === 'rate_limited') notify('Slow down: the server is limiting messages.');
      if (message.code === 'sfu_rejected') connections.of(SfuConnection)?.rejected();
      if (message.code === 'sfu_unavailable') notify('The media server is not available right now.');
      if (message.code === 'forbidden') notify(message.message);
      break;
    case 'pong':
      break;
    default:
      collab.handle(/** @type {RoomEvent} */ (message));
  }
}

/**
 * Shows a participant, new or changed.
 * @param {Participant} participant
 */
function addParticipant(participant) {
  // The server echoes our own updates back; our tile is drawn from local state.
  if (!connections.current || participant.id === call.selfId) return;
  const newcomer = !call.participants.has(participant.id);
  call.participants.set(participant.id, participant);
  // Who joins during a switch is met on the new connection only.
  if (newcomer) connections.met(participant.id);
  const connection = connections.shownBy(participant.id);
  const remote = connection.remote(participant.id);
  const tile = grid.remote(participant.id);
  tile.element.dataset.role = participant.role ?? 'participant';
  host.decorate(participant.id, tile.element);
  tile.setName(participant.name);
  tile.setMedia(participant);
  tile.attach(remote.camera);
  setSpeaker(tile.video, media.devices.audiooutput);
  if (connections.of(SfuConnection)) views.watch(participant.id, tile.element, tile.video);
  if (connection instanceof SfuConnection) tile.setPeerState(connection.pc.connectionState);
  drawScreen(participant, connections.shownBy(participant.id, 'screen').remote(participant.id).screen);
}

/**
 * Shows a participant's screen share in its tile, or takes the tile away when it shares none.
 * @param {Participant} participant
 * @param {MediaStream} stream
 */
function drawScreen(participant, stream) {
  if (!participant.screen) {
    grid.removeScreen(participant.id);
    views.unwatch(participant.id, 'screen');
    return;
  }
  const tile = grid.showScreen(participant.id, participant.name, stream);
  if (connections.of(SfuConnection)) views.watch(participant.id, tile.element, tile.video, 'screen');
}

/**
 * @param {MediaConnection} source the connection the event comes from
 * @param {MeshEvent | SfuEvent} event
 */
function onConnectionEvent(source, event) {
  if (event.kind === 'signal') {
    call.signaling?.signal(event.to, event.signal);
  } else if (event.kind === 'sfu_signal') {
    call.signaling?.sfuSignal(event.signal);
  } else if (event.kind === 'data_channel') {
    // A mesh channel has one participant at its other end; the SFU's carries everybody's.
    collab.addFileChannel(event.channel, 'id' in event ? event.id : null);
  } else if (event.kind === 'tracks') {
    const participant = call.participants.get(event.id);
    if (!participant) return;
    connections.tracksArrived(source, participant);
    for (const kind of TILE_SOURCES) {
      if (connections.shownBy(event.id, kind) === source) showFrom(source, event.id, kind);
    }
  } else if ('id' in event) {
    if (connections.shownBy(event.id) === source) grid.remotes.get(event.id)?.setPeerState(event.state);
  } else {
    // One connection carries everyone: its state is that of every remote tile it shows.
    for (const [id, tile] of grid.remotes) {
      if (connections.shownBy(id) === source) tile.setPeerState(event.state);
    }
  }
}

/**
 * Shows in `id`'s tiles (both, or only `source`'s) what `connection` receives from it.
 * @param {MediaConnection} connection
 * @param {string} id
 * @param {TileSource} [source]
 */
function showFrom(connection, id, source) {
  const participant = call.participants.get(id);
  if (!participant) return;
  const remote = connection.remote(id);
  if (source !== 'screen') grid.remote(id).attach(remote.camera);
  if (source !== 'camera') drawScreen(participant, remote.screen);
}

/** Reports every tile to the SFU afresh (a new connection to it knows none). */
function watchTiles() {
  views.clear();
  for (const [id, tile] of grid.remotes) views.watch(id, tile.element, tile.video);
  for (const [id, tile] of grid.screens) views.watch(id, tile.element, tile.video, 'screen');
}

/**
 * A new connection of `mode`, sending what we send.
 * @param {MediaMode} mode
 * @returns {MediaConnection}
 */
function connect(mode) {
  /** @type {MediaConnection} */
  const connection = mode === 'sfu'
    ? new SfuConnection({ iceServers: call.iceServers, iceTransportPolicy, quality, listener: (event) => onConnectionEvent(connection, event) })
    : new Mesh({ selfId: call.selfId, iceServers: call.iceServers, iceTransportPolicy, receiveOnly: call.role === 'viewer', listener: (event) => onConnectionEvent(connection, event) });
  for (const slot of SLOTS) connection.setTrack(slot, media.tracks[slot]);
  return connection;
}

/** @param {MediaEvent} event */
function onMediaEvent(event) {
  /** @type {Promise<unknown> | undefined} */
  let swapped;
  if (event.kind === 'track') {
    swapped = connections.setTrack(event.slot, event.track);
    if (event.slot === 'screen') grid.setLocalScreen(event.track ? new MediaStream([event.track]) : null);
  }
  drawLocal();
  announce();
  return swapped;
}

/**
 * Our role, from `joined` or a host's hand-over. A viewer sends nothing: its devices are closed.
 * @param {Role} role
 */
function setRole(role) {
  call.role = role;
  host.setRole(role);
  if (role === 'viewer') media.stop();
}

/** Tells the room our media state if it changed. */
function announce() {
  const now = media.state;
  const before = call.announced;
  if (before && before.audio === now.audio && before.video === now.video && before.screen === now.screen) return;
  call.announced = now;
  call.signaling?.update(now);
}

/** Draws our own tile, the preview and the control buttons from `media`. */
function drawLocal() {
  drawOwnMedia({ media, grid, nameInput, inCall: call.signaling !== null });
  collab.peopleChanged();
}

/** @param {ConnectionState} state */
function showConnection(state) {
  document.body.dataset.connection = state;
  const text = { connecting: 'Connecting…', reconnecting: 'Reconnecting…', connected: '', closed: '' }[state];
  element('[data-status]', HTMLElement).textContent = text;
}

/**
 * The call is over: say why.
 * @param {EndReason} reason
 */
function showEnded(reason) {
  connections.close();
  views.clear();
  grid.removeAllRemotes();
  grid.setLocalScreen(null);
  media.stop();
  drawLocal();
  document.body.dataset.connection = 'closed';
  if (reason.kind === 'left') {
    showScreen('left');
  } else if (reason.kind === 'refused' && (reason.code === 'password_required' || reason.code === 'wrong_password')) {
    askPassword(reason.code === 'wrong_password');
  } else if (reason.kind === 'refused' && reason.code === 'room_full') {
    showScreen('roomFull');
  } else {
    const [title, text] = describeEnd(reason);
    element('[data-error-title]', HTMLElement).textContent = title;
    element('[data-error-text]', HTMLElement).textContent = text;
    screens.joinError.dataset.joinError = reason.kind === 'refused' ? reason.code
      : reason.kind === 'removed' ? reason.reason : reason.kind;
    showScreen('joinError');
  }
}

// ---- Controls ---------------------------------------------------------------------------------

function wireControls() {
  element('[data-prejoin-form]', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault();
    submitPrejoin();
  });
  nameInput.addEventListener('input', () => drawLocal());
  /** @type {Record<string, () => unknown>} */
  const actions = {
    'toggle-audio': () => media.setMic(!media.state.audio),
    'toggle-video': () => media.setCamera(!media.state.video),
    'share-screen': () => (media.tracks.screen ? media.stopScreen() : media.startScreen()),
    settings: () => toggleSettings(),
    'follow-speaker': () => toggleFollowSpeaker(),
    leave: () => call.signaling?.leave(),
  };
  for (const button of all('[data-action]', HTMLButtonElement)) {
    const run = actions[button.dataset.action ?? ''];
    if (run) button.addEventListener('click', () => run());
  }
  show(element('[data-action="share-screen"]', HTMLButtonElement), canShareScreen());
  for (const button of all('[data-prejoin-toggle]', HTMLButtonElement)) {
    button.addEventListener('click', async () => {
      const kind = button.dataset.prejoinToggle;
      if (kind === 'audio') media.setMic(!media.state.audio);
      else await media.setCamera(!media.state.video);
      saved.set('audio', media.state.audio ? 'on' : 'off');
      saved.set('video', media.state.video ? 'on' : 'off');
      await pickers.refresh();
    });
  }
  element('[data-copy-link]', HTMLButtonElement).addEventListener('click', copyLink);
  element('[data-password-form]', HTMLFormElement).addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = element('[data-password-input]', HTMLInputElement).value;
    if (!password) return;
    await media.start({ audio: true, video: true });
    enterCall(call.name, password);
  });
  for (const button of all('[data-retry]', HTMLButtonElement)) {
    button.addEventListener('click', rejoin);
  }
  whenAutoplayBlocked(() => notify('Your browser blocked the sound.', { label: 'Turn sound on', run: unmuteBlocked }));
  // Leaving by closing the tab: say goodbye so the others see it at once.
  addEventListener('pagehide', () => call.signaling?.leave());
}

/**
 * The room wants its password: ask, then join again with it.
 * @param {boolean} wrong the last one was wrong
 */
function askPassword(wrong) {
  const error = element('[data-password-error]', HTMLElement);
  error.textContent = wrong ? 'Wrong password, please try again.' : '';
  show(error, wrong);
  showScreen('passwordPrompt');
  const input = element('[data-password-input]', HTMLInputElement);
  input.value = '';
  input.focus();
}

/** Shows whoever speaks large, or back to the grid. */
function toggleFollowSpeaker() {
  grid.follow(!grid.following);
  element('[data-action="follow-speaker"]', HTMLButtonElement).setAttribute('aria-pressed', String(grid.following));
}

function toggleSettings() {
  const open = screens.call.classList.toggle('settings-open');
  element('[data-action="settings"]', HTMLButtonElement).setAttribute('aria-expanded', String(open));
}

async function copyLink() {
  const link = `${location.origin}/r/${encodeURIComponent(room)}`;
  try {
    await navigator.clipboard.writeText(link);
    notify('Link copied: send it to the people you want to meet.');
  } catch {
    notify(link);
  }
}

/** Starts over with the same name and options (quality, ice). */
function rejoin() {
  const next = new URLSearchParams(location.search);
  if (call.name) next.set('name', call.name);
  location.search = next.toString();
}

start().catch((error) => {
  console.error('huddle: could not start', error);
  showEnded({ kind: 'closed', message: String(error) });
});
