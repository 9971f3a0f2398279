// The room page, /r/<room>: pre-join screen, the call, and the screens that end it.
// Wires UI-free parts together: `Signaling` (signaling.js), the `Call` (call.js: who is in it, our
// role), a `MediaConnection` (media-connection.js) that is `Mesh` (mesh.js) or `SfuConnection`
// (sfu.js) as `joined.settings.media_mode` says, and `LocalMedia` (media.js); everything on screen
// is drawn from their events. Both kinds of connection feed the same tiles (remote-tiles.js); sfu
// rooms also report tile sizes (`view`, views.js). Who speaks is outlined by speakers.js, each
// tile's network quality is tile-quality.js's, the notice bar is notice.js's.
// Chat, whiteboard, title, hands, reactions and files are collab.js's: the room events go there.
// When an auto room switches (`media_mode`), `CallConnections` (connections.js) brings up the other
// kind of connection next to the current one and moves the tiles over one by one without a gap.
// When the room's cluster node drains (`migrate`), a second `Signaling` session joins the room on
// its next node and the tiles move to a connection made through it the same way.
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

import { CallSessions } from './sessions.js';
import { Call } from './call.js';
import { Mesh } from './mesh.js';
import { SLOTS } from './media-connection.js';
import { SfuConnection } from './sfu.js';
import { ViewReporter } from './views.js';
import { RemoteTiles } from './remote-tiles.js';
import { TileQuality } from './tile-quality.js';
import { Pager, pageSizeFrom } from './pages.js';
import { CallConnections } from './connections.js';
import { LocalMedia, canShareScreen } from './media.js';
import { DevicePickers, savedDevices } from './devices.js';
import { saved } from './saved.js';
import { TileGrid, holdSound, releaseSound, unmuteBlocked, whenAutoplayBlocked } from './tiles.js';
import { cleanDisplayName, isValidRoomName } from './names.js';
import { element, all, show } from './dom.js';
import { Collaboration } from './collab.js';
import { HostControls } from './moderation.js';
import { describeEnd } from './endings.js';
import { notify } from './notice.js';
import { drawOwnMedia } from './own-media.js';
import { SpeakerHighlight } from './speakers.js';

/** @import { Signaling } from './signaling.js' */
/** @import { SignalingEvent, ServerMessage, EndReason, ConnectionState, RoomEvent, MediaMode, JoinedMessage, ErrorCode } from './protocol.js' */
/** @import { CallEvent } from './call.js' */
/** @import { MeshEvent } from './mesh.js' */
/** @import { SfuEvent } from './sfu.js' */
/** @import { MediaConnection } from './media-connection.js' */
/** @import { MediaEvent } from './media.js' */

const params = new URLSearchParams(location.search);
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
const views = new ViewReporter((tiles) => sessions.current?.view(tiles));
const pager = new Pager((step) => grid.turnPage(step));
const grid = new TileGrid(element('[data-grid]', HTMLElement), {
  pageSize: pageSizeFrom(params.get('page_size')),
  paged: (page, count) => {
    pager.draw(page, count);
    views.changed();
  },
});
const host = new HostControls((action) => sessions.current?.moderate(action));

const videoQuality = params.get('quality') === 'low' ? 'low' : 'default';
const media = new LocalMedia({
  quality: videoQuality,
  preferred: savedDevices(),
  listener: onMediaEvent,
});
const pickers = new DevicePickers({ media, speakers: () => grid.remoteVideos(), changed: () => drawLocal() });

/**
 * Who we are in the call and whom we see; made again when we enter it.
 * @type {Call}
 */
let call = new Call('', media.state, onCallEvent);
const sessions = new CallSessions({
  current: onSignalingEvent,
  moved: onMoved,
  old: onLeavingMessage,
  stayed: () => delete document.body.dataset.moving,
});

const connections = new CallConnections({
  connect,
  show: (connection, id, source) => tiles.showFrom(connection, id, source),
  participants: () => call.participants.values(),
  switching: (mode) => {
    if (mode === 'sfu') tiles.watchAll();
  },
  switched: (mode) => {
    if (mode === 'mesh') views.clear();
    if (sessions.leaving) finishMove();
  },
});

const tiles = new RemoteTiles({
  grid,
  views,
  connections,
  host,
  participant: (id) => call.participants.get(id),
  audioOutput: () => media.devices.audiooutput,
});
const tileQuality = new TileQuality({ grid, connection: () => connections.current });

const speakers = new SpeakerHighlight({
  grid,
  connection: () => connections.current,
  participant: (id) => call.participants.get(id),
  ownAudio: () => media.state.audio,
});

const collab = new Collaboration({
  room,
  grid,
  act: (action) => sessions.current?.act(action),
  people: () => [
    { id: call.selfId, name: call.name, self: true, ...media.state },
    ...[...call.participants.values()].map((participant) => ({ ...participant, self: false })),
  ],
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
    // The room is joined while the camera starts: the connections take our tracks once granted,
    // and the others see us as soon as it is. Sound waits for the capture that allows it.
    holdSound();
    const granted = media.start({ audio: true, video: true });
    enterCall(fromUrl);
    await granted;
    releaseSound();
    await pickers.refresh();
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
  call = new Call(name, media.state, onCallEvent);
  showScreen('call');
  element('[data-settings]', HTMLElement).append(devicePickers);
  grid.local.setName(`${name} (you)`, name);
  drawLocal();
  grid.layout();
  sessions.start().join(room, name, media.state, { token, password }, identity());
}

/** @param {SignalingEvent} event of the session the call runs on */
function onSignalingEvent(event) {
  if (event.kind === 'state') showConnection(event.state);
  else if (event.kind === 'message') onServerMessage(event.message);
  else if (event.kind === 'retrying') showRetrying(event.code);
  else showEnded(event.reason);
}

// ---- Moving with the room to another node ----------------------------------------------------

/**
 * The room's next node has us (a drain moved the room): the call runs there now, and the tiles
 * move to a connection through it.
 * @param {JoinedMessage} joined
 */
function onMoved(joined) {
  showConnection(sessions.current?.state ?? 'connected');
  call.moved(joined);
  collab.joined(joined);
}

/**
 * The old node's session only carries what its media connection needs.
 * @param {ServerMessage} message
 */
function onLeavingMessage(message) {
  const old = connections.current;
  if (message.type === 'signal' && old instanceof Mesh) old.handleSignal(message.from, message.signal);
  else if (message.type === 'sfu_signal' && old instanceof SfuConnection) old.handleSignal(message.signal);
  else if (message.type === 'sfu_track' && old instanceof SfuConnection) old.mapTrack(message.participant, message.source, message.mid);
}

/** Every tile shows the new node's media: the old session leaves. */
function finishMove() {
  sessions.finishMove();
  call.confirmMove();
  delete document.body.dataset.moving;
}

/** @param {ServerMessage} message */
function onServerMessage(message) {
  switch (message.type) {
    case 'joined':
      call.joined(message, media.state);
      collab.joined(message);
      break;
    case 'participant_joined':
    case 'participant_updated':
      call.seen(message.participant);
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
      call.left(message.id);
      collab.peopleChanged();
      break;
    case 'signal':
      if (message.from !== call.selfId) connections.of('mesh')?.handleSignal(message.from, message.signal);
      break;
    case 'sfu_signal':
      connections.of('sfu')?.handleSignal(message.signal);
      break;
    case 'sfu_track':
      connections.of('sfu')?.mapTrack(message.participant, message.source, message.mid);
      break;
    case 'media_mode':
      connections.switchTo(message.mode);
      break;
    case 'migrate':
      if (sessions.leaving) finishMove();
      sessions.moveTo(message);
      document.body.dataset.moving = message.node;
      break;
    case 'active_speaker':
      speakers.setActive(message.participant);
      break;
    case 'sfu_ended':
      // Before the new connection's offer, which the server then gives the fresh place.
      sessions.current?.sfuConnect();
      connections.reconnectSfu();
      break;
    case 'error':
      if (collab.error(message.code, message.message)) break;
      if (message.code === 'rate_limited') notify('Slow down: the server is limiting messages.');
      if (message.code === 'sfu_rejected') connections.of('sfu')?.rejected();
      if (message.code === 'sfu_unavailable') notify('The media server is not available right now.');
      if (message.code === 'forbidden') notify(message.message);
      break;
    case 'pong':
      break;
    default:
      collab.handle(/** @type {RoomEvent} */ (message));
  }
}

/** @param {CallEvent} event */
function onCallEvent(event) {
  switch (event.kind) {
    case 'role':
      host.setRole(event.role);
      // A viewer sends nothing: its devices are closed.
      if (event.role === 'viewer') media.stop();
      break;
    case 'joined': {
      // A fresh start, also after a reconnect: the server gave us a new id and the others new peers.
      connections.close();
      tiles.clear();
      speakers.clear();
      tileQuality.clear();
      grid.local.element.dataset.participant = call.selfId;
      showScreen('call');
      if (event.joined.access) host.setAccess(event.joined.access);
      connections.open(event.joined.settings?.media_mode === 'sfu' ? 'sfu' : 'mesh');
      break;
    }
    case 'moved':
      if (event.joined.access) host.setAccess(event.joined.access);
      connections.moveTo(event.joined.settings?.media_mode === 'sfu' ? 'sfu' : 'mesh');
      break;
    case 'participant':
      // Who joins during a switch is met on the new connection only.
      connections.met(event.participant.id, event.newcomer);
      tiles.show(event.participant);
      break;
    case 'left':
      connections.remove(event.id);
      tiles.remove(event.id);
      break;
  }
}

/**
 * @param {MediaConnection} source the connection the event comes from
 * @param {Signaling | null} via the session its signals go through
 * @param {MeshEvent | SfuEvent} event
 */
function onConnectionEvent(source, via, event) {
  if (event.kind === 'signal') {
    via?.signal(event.to, event.signal);
  } else if (event.kind === 'sfu_signal') {
    via?.sfuSignal(event.signal);
  } else if (event.kind === 'data_channel') {
    // A mesh channel has one participant at its other end; the SFU's carries everybody's.
    collab.addFileChannel(event.channel, 'id' in event ? event.id : null);
  } else {
    tiles.connectionEvent(source, event);
  }
}

/**
 * A new connection of `mode`, sending what we send.
 * @param {MediaMode} mode
 * @returns {MediaConnection}
 */
function connect(mode) {
  // Its signals go through the session it was made through: during a move, the old connection's
  // to the node the room is leaving.
  const via = sessions.current;
  /** @type {(event: MeshEvent | SfuEvent) => void} */
  const listener = (event) => onConnectionEvent(connection, via, event);
  /** @type {MediaConnection} */
  const connection = mode === 'sfu'
    ? new SfuConnection({ iceServers: call.iceServers, iceTransportPolicy, quality: videoQuality, listener })
    : new Mesh({ selfId: call.selfId, iceServers: call.iceServers, iceTransportPolicy, receiveOnly: call.role === 'viewer', listener });
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

/** Tells the room our media state if it changed. */
function announce() {
  const changed = call.toAnnounce(media.state);
  if (changed) sessions.current?.update(changed);
}

/** Draws our own tile, the preview and the control buttons from `media`. */
function drawLocal() {
  drawOwnMedia({ media, grid, nameInput, inCall: sessions.current !== null });
  collab.peopleChanged();
}

/** @param {ConnectionState} state */
function showConnection(state) {
  document.body.dataset.connection = state;
  const text = { connecting: 'Connecting…', reconnecting: 'Reconnecting…', connected: '', closed: '' }[state];
  element('[data-status]', HTMLElement).textContent = text;
}

/**
 * Says why the join is being asked again, until the connection's state changes.
 * @param {ErrorCode} code
 */
function showRetrying(code) {
  const text = code === 'room_overloaded' ? 'This meeting is at capacity: trying again…'
    : 'The meeting is moving to another server…';
  element('[data-status]', HTMLElement).textContent = text;
}

/**
 * The call is over: say why.
 * @param {EndReason} reason
 */
function showEnded(reason) {
  sessions.leaveAll();
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
    leave: () => sessions.current?.leave(),
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
  addEventListener('pagehide', () => sessions.leaveAll());
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
