//! One frame (or audio packet) of a published track as the SFU forwards it: what str0m
//! depacketized, in huddle-media's own terms, cheap to copy (the payload is shared), so it can be
//! offered to each subscriber and cross to another worker ([`crate::relay`]).

use std::sync::Arc;
use std::time::Instant;

use str0m::format::PayloadParams;
use str0m::media::{MediaData, MediaTime};

use crate::forward::LayerKey;

#[derive(Debug, Clone)]
pub struct Frame {
    pub layer: LayerKey,
    /// The publisher's codec, matched to each subscriber's payload type.
    pub params: PayloadParams,
    pub time: MediaTime,
    /// When its first packet reached the SFU.
    pub network_time: Instant,
    pub data: Arc<[u8]>,
    pub keyframe: bool,
    /// No packet is missing since the previous frame of its layer.
    pub contiguous: bool,
    /// The audio level header extension (-127 silence ..= 0 loudest) and voice activity.
    pub audio_level: Option<(i8, bool)>,
    /// RTP packets it arrived in.
    pub packets: u64,
}

impl From<&MediaData> for Frame {
    fn from(data: &MediaData) -> Self {
        let first: u64 = **data.seq_range.start();
        let last: u64 = **data.seq_range.end();
        Frame {
            layer: LayerKey(data.rid),
            params: data.params,
            time: data.time,
            network_time: data.network_time,
            data: data.data.clone(),
            keyframe: data.is_keyframe(),
            contiguous: data.contiguous,
            audio_level: data
                .ext_vals
                .audio_level
                .map(|level| (level, data.ext_vals.voice_activity.unwrap_or(false))),
            packets: last.saturating_sub(first).saturating_add(1),
        }
    }
}
