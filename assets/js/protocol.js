// The signaling protocol, version 1 (crates/huddle/src/protocol.rs is the source of truth): the
// messages both ends send, as JSDoc types. The connection that speaks it is signaling.js's.

export const PROTOCOL_VERSION = 1;

/**
 * @typedef {{ audio: boolean, video: boolean, screen: boolean }} MediaState
 * @typedef {'host' | 'participant' | 'viewer'} Role
 * @typedef {{ id: string, name: string, role?: Role } & MediaState} Participant
 * @typedef {{ urls: string[], username?: string, credential?: string }} IceServer
 * @typedef {'mesh' | 'sfu'} MediaMode
 * @typedef {{ media_mode: MediaMode, capacity: number }} RoomSettings
 * @typedef {{ type: 'offer' | 'answer' | 'pranswer' | 'rollback', sdp: string }} SessionDescription
 * @typedef {{ candidate: string, sdpMid?: string | null, sdpMLineIndex?: number | null,
 *             usernameFragment?: string | null }} IceCandidate
 * @typedef {{ kind: 'description', description: SessionDescription }
 *         | { kind: 'candidate', candidate: IceCandidate | null }} Signal
 */

/**
 * How a remote participant's camera or screen share is shown: its tile's size in device pixels, and
 * whether it is on screen at all (the SFU picks a simulcast layer from this and pauses hidden ones).
 * @typedef {'camera' | 'screen'} TileSource
 * @typedef {{ participant: string, source: TileSource, visible: boolean, width: number, height: number }} TileView
 */

/**
 * Access control and moderation (docs/protocol.md, "Access and moderation").
 * @typedef {{ token?: string, password?: string }} Credentials
 * @typedef {{ locked: boolean, lobby: boolean, password: boolean, viewers_chat?: boolean }} AccessState
 * @typedef {{ id: string, name: string }} Knock
 * @typedef {'kicked' | 'denied' | 'meeting_ended'} Removal
 * @typedef {{ kind: 'mute' | 'stop_video' | 'kick' | 'admit' | 'deny' | 'hand_over_host', participant: string }
 *         | { kind: 'lock', locked: boolean }
 *         | { kind: 'lobby', enabled: boolean }
 *         | { kind: 'viewers_chat', enabled: boolean }
 *         | { kind: 'set_password', password: string | null }
 *         | { kind: 'end_meeting' }} Moderation
 */

/**
 * The collaboration part (issue 5). Times are Unix milliseconds, UTC; whiteboard points are board
 * coordinates, 0..1 on both axes of a 16:9 board, so a drawing scales with the canvas.
 * @typedef {'user' | 'scheduled' | 'bot'} ChatKind
 * @typedef {{ id: number, kind: ChatKind, author_name: string, author: string | null, text: string,
 *             sent_at: number, late: boolean, mine: boolean }} ChatMessage
 * @typedef {{ id: number, author_name: string, text: string, at: number, mine: boolean }} Scheduled
 * @typedef {'pen' | 'eraser' | 'line' | 'rect' | 'ellipse' | 'text'} ShapeKind
 * @typedef {[number, number]} BoardPoint
 * @typedef {{ id: string, kind: ShapeKind, color: string, width: number, points: BoardPoint[],
 *             text?: string, mine?: boolean }} WhiteboardItem
 */

/** The reactions the server accepts (`react`). */
export const REACTIONS = /** @type {const} */ (['👍', '👏', '😂', '❤️', '🎉', '😮', '🤔', '👋']);

/**
 * What a participant does in the room besides media: sent with `Signaling.act` while joined.
 * @typedef {{ type: 'chat_send', text: string }
 *         | { type: 'chat_history', before: number, limit?: number }
 *         | { type: 'schedule_message', text: string, at: number }
 *         | { type: 'cancel_scheduled', id: number }
 *         | { type: 'set_title', title: string }
 *         | { type: 'whiteboard_add', item: WhiteboardItem }
 *         | { type: 'whiteboard_extend', id: string, points: BoardPoint[] }
 *         | { type: 'whiteboard_undo' }
 *         | { type: 'whiteboard_clear' }
 *         | { type: 'raise_hand', raised: boolean }
 *         | { type: 'react', emoji: string }} RoomAction
 */

/**
 * Messages the client sends.
 * @typedef {{ type: 'join', room: string, name: string, version: number, media: MediaState, identity?: string,
 *             home?: string, pass?: string } & Credentials
 *         | { type: 'update', media: MediaState, name?: string }
 *         | { type: 'signal', to: string, signal: Signal }
 *         | { type: 'sfu_signal', signal: Signal }
 *         | { type: 'sfu_connect' }
 *         | { type: 'view', tiles: TileView[] }
 *         | { type: 'moderate', action: Moderation }
 *         | { type: 'ping' }
 *         | { type: 'leave' }
         | RoomAction} ClientMessage
 */

/**
 * @typedef {'malformed_message' | 'message_too_large' | 'unknown_type' | 'unsupported_version'
 *         | 'not_joined' | 'already_joined' | 'invalid_room' | 'invalid_name' | 'room_full'
 *         | 'unknown_participant' | 'recipient_busy' | 'rate_limited' | 'wrong_media_mode' | 'sfu_rejected'
 *         | 'sfu_unavailable' | 'room_overloaded' | 'chat_too_long' | 'empty_message' | 'invalid_schedule_time' | 'too_many_scheduled'
 *         | 'unknown_scheduled' | 'not_author' | 'title_too_long' | 'whiteboard_full'
 *         | 'invalid_whiteboard_item' | 'invalid_reaction' | 'bot_unavailable' | 'storage_failed'
 *         | 'token_required' | 'token_expired' | 'token_invalid'
 *         | 'token_wrong_room' | 'password_required' | 'wrong_password' | 'too_many_attempts'
 *         | 'room_locked' | 'banned' | 'forbidden' | 'room_moving'} ErrorCode
 */

/**
 * Messages the server sends.
 * @typedef {{ type: 'joined', version: number, you: string, room: string, participants: Participant[],
 *             ice_servers: IceServer[], settings: RoomSettings, title?: string | null,
 *             hands?: string[], role?: Role, access?: AccessState }} JoinedMessage
 * @typedef {JoinedMessage
 *         | { type: 'participant_joined', participant: Participant }
 *         | { type: 'participant_updated', participant: Participant }
 *         | { type: 'participant_left', id: string, reason: 'left' | 'disconnected' }
 *         | { type: 'signal', from: string, signal: Signal }
 *         | { type: 'sfu_signal', signal: Signal }
 *         | { type: 'sfu_track', participant: string, source: 'audio' | 'video' | 'screen', mid: string }
 *         | { type: 'active_speaker', participant: string }
 *         | { type: 'sfu_ended' }
 *         | { type: 'waiting', room: string }
 *         | { type: 'knocking', participant: Knock }
 *         | { type: 'knock_ended', id: string }
 *         | { type: 'moderated', action: 'mute' | 'stop_video', by: string }
 *         | { type: 'access_changed', access: AccessState }
 *         | { type: 'removed', reason: Removal, message: string }
 *         | { type: 'redirect', url: string, node: string }
 *         | { type: 'migrate', url: string, node: string, pass: string }
 *         | { type: 'media_mode', mode: MediaMode }
 *         | { type: 'pong' }
 *         | { type: 'error', code: ErrorCode, message: string }
 *         | RoomEvent} ServerMessage
 */

/**
 * What happens in the room besides media. Right after `joined` come `chat_history`,
 * `scheduled_list` and `whiteboard_state`, in that order.
 * @typedef {{ type: 'chat_history', messages: ChatMessage[], has_more: boolean }
 *         | { type: 'chat_message', message: ChatMessage }
 *         | { type: 'scheduled_list', scheduled: Scheduled[] }
 *         | { type: 'scheduled_added', scheduled: Scheduled }
 *         | { type: 'scheduled_removed', id: number, reason: 'cancelled' | 'posted' }
 *         | { type: 'title_changed', title: string | null, by: string }
 *         | { type: 'whiteboard_state', items: WhiteboardItem[] }
 *         | { type: 'whiteboard_added', item: WhiteboardItem, by: string }
 *         | { type: 'whiteboard_extended', id: string, points: BoardPoint[] }
 *         | { type: 'whiteboard_removed', id: string }
 *         | { type: 'whiteboard_cleared', by: string }
 *         | { type: 'hands', queue: string[] }
 *         | { type: 'reaction', from: string, emoji: string }} RoomEvent
 */

/**
 * Where the connection is, mirrored on `document.body.dataset.connection` by the UI.
 * @typedef {'connecting' | 'connected' | 'reconnecting' | 'closed'} ConnectionState
 */

/**
 * Why the connection ended for good (no more reconnects).
 * - `left`: we sent `leave`.
 * - `refused`: the server answered the join with `error` (e.g. `room_full`).
 * - `kicked`: the server closed with 1008 (abuse, rate limit); `message` is its reason.
 * - `closed`: the server closed normally without being asked.
 * - `removed`: a host kicked us, did not let us in, or ended the meeting.
 * @typedef {{ kind: 'left' }
 *         | { kind: 'refused', code: ErrorCode, message: string }
 *         | { kind: 'removed', reason: Removal, message: string }
 *         | { kind: 'kicked', message: string }
 *         | { kind: 'closed', message: string }} EndReason
 */

/**
 * What `Signaling` tells its listener.
 * - `retrying`: the join was refused for a while (the room moves between nodes, its media server
 *   sheds load); it is asked again.
 * @typedef {{ kind: 'state', state: ConnectionState }
 *         | { kind: 'message', message: ServerMessage }
 *         | { kind: 'retrying', code: ErrorCode, message: string }
 *         | { kind: 'ended', reason: EndReason }} SignalingEvent
 */
