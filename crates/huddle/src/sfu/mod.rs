//! The bridge between signaling and the SFU (crate `huddle-media`, which knows nothing of this
//! server): room names become [`RoomId`]s, participant ids (16 hex digits) become the SFU's
//! `ParticipantId(u64)`, and [`SfuEvent`]s become protocol messages in participants' outboxes.
//!
//! One task, [`SfuSwitchboard`], owns the SFU handle, the event receiver and the table of outboxes.
//! Sessions talk to it through [`SfuBridge`] with `Request` values; answers that sessions wait
//! for travel on the SFU's own oneshots. Media never passes here: it stays on the SFU's threads.
//!
//! `bridge` is the sessions' side, `switchboard` the task's; this file binds the SFU and names things.

mod bridge;
mod gate;
mod switchboard;

pub use bridge::SfuBridge;
pub use gate::Gate;
pub use switchboard::SfuSwitchboard;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::Context;
use huddle_media::driver;
use huddle_media::ParticipantId as MediaParticipant;
use huddle_media::{MediaKind, RoomId, SfuConfig, SfuError, SfuMetrics, SubscriptionSpec};
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::protocol::{ErrorCode, ParticipantId, Tile, TileSource, TrackSource};
use crate::rooms::RoomName;

/// Requests queued for the switchboard before sessions wait.
const REQUEST_QUEUE: usize = 1024;

/// Why the SFU did not do what a session asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfuFailure {
    #[error("the SFU is not running")]
    Unavailable,
    #[error("this meeting's media server is at capacity: nobody new can join until it catches up")]
    Overloaded,
    #[error("the SFU refused: {0}")]
    Rejected(String),
    #[error("no participant {0} in this room")]
    UnknownParticipant(ParticipantId),
}

impl SfuFailure {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unavailable => ErrorCode::SfuUnavailable,
            Self::Overloaded => ErrorCode::RoomOverloaded,
            Self::Rejected(_) => ErrorCode::SfuRejected,
            Self::UnknownParticipant(_) => ErrorCode::UnknownParticipant,
        }
    }

    fn from_sfu(err: SfuError) -> Self {
        match err {
            SfuError::Stopped => Self::Unavailable,
            SfuError::Overloaded(_) => Self::Overloaded,
            other => Self::Rejected(other.to_string()),
        }
    }
}

/// The SFU's number for a room name: the first 8 bytes of its SHA-256, the same in every
/// process and release, so that nodes of a cluster (and a restarted node) agree on it.
pub fn room_id(room: &RoomName) -> RoomId {
    let digest = Sha256::digest(room.as_str().as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    RoomId(u64::from_be_bytes(first))
}

/// Server participant ids are a u64 in hex, so they map 1:1 onto the SFU's.
pub fn media_participant(id: &ParticipantId) -> Option<MediaParticipant> {
    u64::from_str_radix(&id.0, 16).ok().map(MediaParticipant)
}

pub fn protocol_participant(id: MediaParticipant) -> ParticipantId {
    ParticipantId(format!("{:016x}", id.0))
}

/// Publisher mids of the fixed transceiver order (docs/protocol.md).
pub(crate) const AUDIO_MID: &str = "0";
pub(crate) const CAMERA_MID: &str = "1";
pub(crate) const SCREEN_MID: &str = "2";

/// What a publisher's track carries: by its mid in the fixed order, else by its kind.
pub fn source_of(publisher_mid: &str, kind: Option<MediaKind>) -> TrackSource {
    match (publisher_mid, kind) {
        (AUDIO_MID, _) => TrackSource::Audio,
        (CAMERA_MID, _) => TrackSource::Video,
        (SCREEN_MID, _) => TrackSource::Screen,
        (_, Some(MediaKind::Audio)) => TrackSource::Audio,
        _ => TrackSource::Video,
    }
}

/// Which of a publisher's tracks a tile shows and what its subscription should be: the camera's
/// simulcast layer and the screen's forwarding each follow their own tile.
pub fn tile_subscription(tile: &Tile) -> (TrackSource, SubscriptionSpec) {
    let source = match tile.source {
        TileSource::Camera => TrackSource::Video,
        TileSource::Screen => TrackSource::Screen,
    };
    let spec = if tile.visible {
        SubscriptionSpec::visible(tile.width, tile.height)
    } else {
        SubscriptionSpec::hidden()
    };
    (source, spec)
}

/// What the SFU is to be, made from the configuration at the edge.
#[derive(Debug, Clone)]
pub struct SfuSettings {
    /// The UDP address every client sends media to.
    pub listen: SocketAddr,
    /// The public address of a host behind a 1:1 NAT.
    pub external_ip: Option<IpAddr>,
    /// Worker threads, each carrying whole rooms.
    pub workers: usize,
    /// How long a participant whose ICE died keeps its place for an ICE restart.
    pub ice_restart_grace: Duration,
}

/// Binds the SFU's UDP port, starts its workers and registers its metrics.
pub fn bind(
    settings: &SfuSettings,
    registry: &mut Registry,
) -> anyhow::Result<(SfuBridge, SfuSwitchboard)> {
    let socket = UdpSocket::bind(settings.listen)
        .with_context(|| format!("binding the SFU to UDP {}", settings.listen))?;
    let port = socket.local_addr()?.port();
    let advertised = SocketAddr::new(advertised_ip(settings), port);
    let metrics = SfuMetrics::default();
    metrics.register(registry);
    let sfu_config = SfuConfig {
        ice_restart_grace: settings.ice_restart_grace,
        ..SfuConfig::new(advertised)
    };
    let strain = metrics.clone();
    let (handle, events) = driver::spawn(socket, sfu_config, settings.workers, Some(metrics))
        .context("starting the SFU workers")?;
    let (requests_tx, requests) = mpsc::channel(REQUEST_QUEUE);
    tracing::info!(address = %advertised, workers = settings.workers, "SFU is serving");
    let bridge = SfuBridge {
        requests: requests_tx,
        local_addr: handle.local_addr,
        metrics: strain,
    };
    let switchboard = SfuSwitchboard::new(handle, events, requests);
    Ok((bridge, switchboard))
}

/// The address in the SFU's candidate: the external IP behind a 1:1 NAT, else the listen IP if
/// specific, else the address this host reaches the outside with (as TURN relays do).
fn advertised_ip(settings: &SfuSettings) -> IpAddr {
    if let Some(external) = settings.external_ip {
        return external;
    }
    let listen = settings.listen.ip();
    if !listen.is_unspecified() {
        return listen;
    }
    crate::host::outbound_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participant_ids_map_both_ways() {
        let id = ParticipantId("00000000000000ff".into());
        assert_eq!(media_participant(&id), Some(MediaParticipant(255)));
        assert_eq!(protocol_participant(MediaParticipant(255)), id);
        assert_eq!(media_participant(&ParticipantId("zz".into())), None);
    }

    #[test]
    fn room_ids_are_the_same_in_every_process() {
        let a = RoomName::parse("a").unwrap();
        let b = RoomName::parse("b").unwrap();
        // SHA-256("a") begins ca978112ca1bbdca.
        assert_eq!(room_id(&a), RoomId(0xca97_8112_ca1b_bdca));
        assert_ne!(room_id(&a), room_id(&b));
    }

    fn tile(source: TileSource, visible: bool, width: u32, height: u32) -> Tile {
        Tile {
            participant: ParticipantId("00000000000000ab".into()),
            source,
            visible,
            width,
            height,
        }
    }

    #[test]
    fn each_tile_sets_the_subscription_of_its_own_source() {
        let camera = tile(TileSource::Camera, true, 1280, 720);
        assert_eq!(
            tile_subscription(&camera),
            (TrackSource::Video, SubscriptionSpec::visible(1280, 720))
        );
        let screen = tile(TileSource::Screen, true, 320, 180);
        assert_eq!(
            tile_subscription(&screen),
            (TrackSource::Screen, SubscriptionSpec::visible(320, 180))
        );
        let hidden_screen = tile(TileSource::Screen, false, 320, 180);
        assert_eq!(
            tile_subscription(&hidden_screen),
            (TrackSource::Screen, SubscriptionSpec::hidden())
        );
    }

    #[test]
    fn sources_follow_the_fixed_mid_order_then_the_kind() {
        assert_eq!(source_of("0", None), TrackSource::Audio);
        assert_eq!(source_of("1", Some(MediaKind::Audio)), TrackSource::Video);
        assert_eq!(source_of("2", None), TrackSource::Screen);
        assert_eq!(source_of("x", Some(MediaKind::Audio)), TrackSource::Audio);
        assert_eq!(source_of("x", Some(MediaKind::Video)), TrackSource::Video);
    }
}
