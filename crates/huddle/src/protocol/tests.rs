use super::*;

#[test]
fn join_round_trips() {
    let text = r#"{"type":"join","room":"blue-fox","name":"Ada","version":1}"#;
    let message = decode_client(text).unwrap();
    assert_eq!(
        message,
        ClientMessage::Join(JoinRequest {
            room: "blue-fox".into(),
            name: "Ada".into(),
            version: 1,
            media: MediaState::default(),
            identity: None,
            credentials: Credentials::default(),
            home: None,
            pass: None,
        })
    );
    let again = serde_json::to_string(&message).unwrap();
    assert_eq!(decode_client(&again).unwrap(), message);
}

#[test]
fn signal_carries_browser_shaped_candidates() {
    let text = r#"{"type":"signal","to":"p1","signal":{"kind":"candidate","candidate":
        {"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}}"#;
    let ClientMessage::Signal { to, signal } = decode_client(text).unwrap() else {
        panic!("expected a signal");
    };
    assert_eq!(to, ParticipantId("p1".into()));
    let Signal::Candidate {
        candidate: Some(candidate),
    } = signal
    else {
        panic!("expected a candidate");
    };
    assert_eq!(candidate.sdp_m_line_index, Some(0));
    assert_eq!(candidate.sdp_mid.as_deref(), Some("0"));
}

#[test]
fn end_of_candidates_is_null() {
    let text = r#"{"type":"signal","to":"p1","signal":{"kind":"candidate","candidate":null}}"#;
    assert!(matches!(
        decode_client(text),
        Ok(ClientMessage::Signal {
            signal: Signal::Candidate { candidate: None },
            ..
        })
    ));
}

#[test]
fn description_keeps_sdp_type() {
    let signal = Signal::Description {
        description: SessionDescription {
            kind: SdpKind::Offer,
            sdp: "v=0".into(),
        },
    };
    let json = serde_json::to_value(&signal).unwrap();
    assert_eq!(json["description"]["type"], "offer");
    assert_eq!(json["kind"], "description");
}

#[test]
fn unknown_type_is_told_apart_from_malformed() {
    assert_eq!(
        decode_client(r#"{"type":"dance"}"#),
        Err(DecodeError::UnknownType("dance".into()))
    );
    assert_eq!(
        decode_client(r#"{"type":"join","room":5}"#)
            .unwrap_err()
            .code(),
        ErrorCode::MalformedMessage
    );
    assert_eq!(
        decode_client("not json").unwrap_err().code(),
        ErrorCode::MalformedMessage
    );
    assert_eq!(
        decode_client(r#"{"no_type":1}"#).unwrap_err().code(),
        ErrorCode::MalformedMessage
    );
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let text = format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(MAX_MESSAGE_BYTES)
    );
    assert!(matches!(
        decode_client(&text),
        Err(DecodeError::TooLarge(_))
    ));
}

#[test]
fn server_messages_are_tagged() {
    let text = encode_server(&ServerMessage::error(ErrorCode::RoomFull, "full"));
    assert_eq!(
        text,
        r#"{"type":"error","code":"room_full","message":"full"}"#
    );
    let left = ServerMessage::ParticipantLeft {
        id: ParticipantId("p2".into()),
        reason: LeaveReason::Disconnected,
    };
    let json = serde_json::to_value(&left).unwrap();
    assert_eq!(json["type"], "participant_left");
    assert_eq!(json["reason"], "disconnected");
}

#[test]
fn participant_state_is_flat() {
    let participant = Participant {
        id: ParticipantId("p1".into()),
        name: "Ada".into(),
        media: MediaState {
            audio: true,
            video: false,
            screen: false,
        },
        role: Role::Host,
    };
    let json = serde_json::to_value(&participant).unwrap();
    assert_eq!(json["audio"], true);
    assert_eq!(json["video"], false);
    assert_eq!(json["role"], "host");
}

#[test]
fn sfu_signal_and_view_decode() {
    let text = r#"{"type":"sfu_signal","signal":{"kind":"description",
        "description":{"type":"offer","sdp":"v=0"}}}"#;
    let ClientMessage::SfuSignal { signal } = decode_client(text).unwrap() else {
        panic!("expected sfu_signal");
    };
    assert!(matches!(
        signal,
        Signal::Description { description } if description.kind == SdpKind::Offer
    ));
    let text = r#"{"type":"view","tiles":[{"participant":"00000000000000ab",
        "visible":true,"width":320,"height":180},{"participant":"p2","visible":false}]}"#;
    let ClientMessage::View { tiles } = decode_client(text).unwrap() else {
        panic!("expected view");
    };
    assert_eq!(
        tiles[0].participant,
        ParticipantId("00000000000000ab".into())
    );
    assert_eq!((tiles[0].width, tiles[0].height), (320, 180));
    assert!(!tiles[1].visible);
    // A tile without a source is a camera, as clients before screen tiles sent it.
    assert_eq!(tiles[0].source, TileSource::Camera);
    assert_eq!(
        decode_client(r#"{"type":"view"}"#).unwrap_err().code(),
        ErrorCode::MalformedMessage
    );
}

#[test]
fn view_tiles_name_their_source() {
    let text = r#"{"type":"view","tiles":[
        {"participant":"p1","source":"screen","visible":true,"width":320,"height":180},
        {"participant":"p1","source":"camera","visible":false}]}"#;
    let ClientMessage::View { tiles } = decode_client(text).unwrap() else {
        panic!("expected view");
    };
    let sources: Vec<_> = tiles.iter().map(|t| (t.source, t.visible)).collect();
    assert_eq!(
        sources,
        [(TileSource::Screen, true), (TileSource::Camera, false)]
    );
    // A source this version does not know is a mistyped field, and the message says which.
    let unknown =
        r#"{"type":"view","tiles":[{"participant":"p1","source":"window","visible":true}]}"#;
    let error = decode_client(unknown).unwrap_err();
    assert_eq!(error.code(), ErrorCode::MalformedMessage);
    assert!(error.to_string().contains("window"), "{error}");
}

#[test]
fn sfu_server_messages_are_tagged() {
    let track = ServerMessage::SfuTrack {
        participant: ParticipantId("p1".into()),
        source: TrackSource::Screen,
        mid: "3".into(),
    };
    assert_eq!(
        encode_server(&track),
        r#"{"type":"sfu_track","participant":"p1","source":"screen","mid":"3"}"#
    );
    let speaker = ServerMessage::ActiveSpeaker {
        participant: ParticipantId("p1".into()),
    };
    assert_eq!(
        encode_server(&speaker),
        r#"{"type":"active_speaker","participant":"p1"}"#
    );
    assert_eq!(
        encode_server(&ServerMessage::SfuEnded),
        r#"{"type":"sfu_ended"}"#
    );
    let switch = ServerMessage::MediaMode {
        mode: MediaMode::Sfu,
    };
    assert_eq!(
        encode_server(&switch),
        r#"{"type":"media_mode","mode":"sfu"}"#
    );
    let answer = ServerMessage::SfuSignal {
        signal: Signal::Candidate { candidate: None },
    };
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["type"], "sfu_signal");
    assert_eq!(json["signal"]["kind"], "candidate");
    let settings = RoomSettings {
        media_mode: MediaMode::Sfu,
        capacity: 100,
    };
    assert_eq!(serde_json::to_value(settings).unwrap()["media_mode"], "sfu");
}

#[test]
fn sfu_error_codes_are_snake_case() {
    for code in [
        ErrorCode::WrongMediaMode,
        ErrorCode::SfuRejected,
        ErrorCode::SfuUnavailable,
        ErrorCode::RoomOverloaded,
    ] {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }
    assert_eq!(ErrorCode::WrongMediaMode.as_str(), "wrong_media_mode");
}

#[test]
fn collaboration_messages_decode() {
    let text =
        r#"{"type":"join","room":"r","name":"Ada","version":1,"identity":"0123456789abcdef"}"#;
    assert!(matches!(
        decode_client(text),
        Ok(ClientMessage::Join(JoinRequest { identity: Some(identity), .. })) if identity == "0123456789abcdef"
    ));
    let text = r##"{"type":"whiteboard_add","item":{"id":"s1","kind":"pen","color":"#ff0000",
        "width":3,"points":[[0.1,0.2],[0.3,0.4]]}}"##;
    let ClientMessage::WhiteboardAdd { item } = decode_client(text).unwrap() else {
        panic!("expected whiteboard_add");
    };
    assert_eq!(item.kind, ShapeKind::Pen);
    assert_eq!(item.points, vec![[0.1, 0.2], [0.3, 0.4]]);
    assert!(!item.mine);
    for text in [
        r#"{"type":"chat_send","text":"hi"}"#,
        r#"{"type":"chat_history","before":12}"#,
        r#"{"type":"schedule_message","text":"hi","at":1700000000000}"#,
        r#"{"type":"cancel_scheduled","id":3}"#,
        r#"{"type":"set_title","title":""}"#,
        r#"{"type":"whiteboard_extend","id":"s1","points":[[0.5,0.5]]}"#,
        r#"{"type":"whiteboard_undo"}"#,
        r#"{"type":"whiteboard_clear"}"#,
        r#"{"type":"raise_hand","raised":true}"#,
        r#"{"type":"react","emoji":"👍"}"#,
    ] {
        let message = decode_client(text).unwrap();
        let tag: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(message.kind(), tag["type"], "{text}");
    }
    assert_eq!(
        decode_client(r#"{"type":"chat_history","before":"x"}"#)
            .unwrap_err()
            .code(),
        ErrorCode::MalformedMessage
    );
}

#[test]
fn collaboration_server_messages_are_tagged() {
    let removed = ServerMessage::ScheduledRemoved {
        id: 4,
        reason: ScheduledRemoval::Posted,
    };
    assert_eq!(
        encode_server(&removed),
        r#"{"type":"scheduled_removed","id":4,"reason":"posted"}"#
    );
    let title = ServerMessage::TitleChanged {
        title: None,
        by: ParticipantId("p1".into()),
    };
    assert_eq!(
        encode_server(&title),
        r#"{"type":"title_changed","title":null,"by":"p1"}"#
    );
    let message = ServerMessage::ChatMessage {
        message: ChatMessage {
            id: 1,
            kind: ChatKind::Bot,
            author_name: "huddle bot".into(),
            author: None,
            text: "hello".into(),
            sent_at: 5,
            late: false,
            mine: false,
        },
    };
    let json = serde_json::to_value(&message).unwrap();
    assert_eq!(json["message"]["kind"], "bot");
    assert_eq!(json["message"]["author"], serde_json::Value::Null);
}

#[test]
fn collaboration_error_codes_are_snake_case() {
    for code in [
        ErrorCode::ChatTooLong,
        ErrorCode::InvalidScheduleTime,
        ErrorCode::TooManyScheduled,
        ErrorCode::WhiteboardFull,
        ErrorCode::BotUnavailable,
        ErrorCode::StorageFailed,
    ] {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }
}

#[test]
fn a_redirect_names_the_home_and_the_join_that_follows_it_carries_it_back() {
    let redirect = ServerMessage::Redirect {
        url: "https://n2.meet.example".into(),
        node: "n2".into(),
    };
    assert_eq!(
        encode_server(&redirect),
        r#"{"type":"redirect","url":"https://n2.meet.example","node":"n2"}"#
    );
    let text = r#"{"type":"join","room":"r","name":"Ada","version":1,"home":"n2"}"#;
    let Ok(ClientMessage::Join(join)) = decode_client(text) else {
        panic!("expected join");
    };
    assert_eq!(join.home.as_deref(), Some("n2"));
}
