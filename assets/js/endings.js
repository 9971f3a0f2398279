// Why a call ended or was refused, in words for the person it happened to. No DOM here.

/** @import { EndReason } from './protocol.js' */

/** @param {string} text a server message, as a sentence */
function sentence(text) {
  return `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}.`;
}

/**
 * What to tell someone whose call ended or never started: a title and a sentence.
 * @param {EndReason} reason
 * @returns {[string, string]}
 */
export function describeEnd(reason) {
  switch (reason.kind) {
    case 'kicked':
      return ['Disconnected by the server', reason.message];
    case 'closed':
      return ['The call ended', reason.message];
    case 'left':
      return ['You left the meeting', ''];
    case 'removed':
      return [reason.reason === 'meeting_ended' ? 'The meeting has ended'
        : reason.reason === 'denied' ? 'You were not let in' : 'You were removed from the meeting',
      sentence(reason.message)];
    case 'refused':
      switch (reason.code) {
        case 'invalid_room':
          return ['No such room', 'A room name is 1 to 64 letters, digits, "-" or "_".'];
        case 'invalid_name':
          return ['Please choose another name', reason.message];
        case 'unsupported_version':
          return ['Please reload the page', 'This page is older than the server. Reload to get the new version.'];
        case 'rate_limited':
          return ['Too many attempts', 'Please wait a little before joining again.'];
        case 'sfu_unavailable':
          return ['The media server is not available', 'Please try again in a moment.'];
        case 'room_overloaded':
          return ['This meeting is at capacity', 'Its media server cannot take anyone else right now. Please try again in a few minutes.'];
        case 'room_locked':
          return ['The room is locked', 'A host locked this meeting: nobody new can join.'];
        case 'token_required':
          return ['An invitation is needed', 'This server lets people in with an invitation link only.'];
        case 'token_expired':
          return ['This invitation has expired', 'Ask the organiser for a new link.'];
        case 'token_invalid':
          return ['This invitation is not valid', 'The link is damaged or was not made by this server.'];
        case 'token_wrong_room':
          return ['This invitation is for another room', 'Check the link you were sent.'];
        case 'banned':
          return ['You were removed from this meeting', 'You cannot join it again.'];
        case 'too_many_attempts':
          return ['Too many attempts', sentence(reason.message)];
        default:
          return ['Could not join', reason.message || reason.code];
      }
  }
}

