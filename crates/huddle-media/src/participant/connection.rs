//! How a participant's str0m `Rtc` is made: one recipe per SFU, applied at the browser's
//! first offer. Until then a participant holds only its ICE credentials (the ingress must
//! know its ufrag from the join on): a member of an SFU room whose browser has not offered
//! yet, or never will, costs no `Rtc` (about 30 KiB each before any connection).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::crypto::dtls::DtlsCert;
use str0m::{Candidate, IceCreds, Rtc};

use crate::channel_backlog::SCTP_SEND_BUFFER;
use crate::error::SfuError;

pub struct RtcRecipe {
    /// Addresses of the UDP socket(s) every client sends to (host candidates).
    local_addrs: Vec<SocketAddr>,
    ice_lite: bool,
    initial_bwe: Bitrate,
    /// The DTLS certificate every participant's connection presents: an SFU is one endpoint,
    /// and a certificate made per participant cost a key generation and kilobytes each.
    dtls_cert: Option<DtlsCert>,
}

impl RtcRecipe {
    pub fn new(local_addrs: Vec<SocketAddr>, ice_lite: bool, initial_bwe: Bitrate) -> Self {
        RtcRecipe {
            local_addrs,
            ice_lite,
            initial_bwe,
            dtls_cert: str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate(),
        }
    }

    pub fn build(&self, ice: &IceCreds, now: Instant) -> Result<Rtc, SfuError> {
        let mut builder = Rtc::builder().set_local_ice_credentials(ice.clone());
        if let Some(cert) = &self.dtls_cert {
            builder = builder.set_dtls_cert(cert.clone());
        }
        let mut rtc = builder
            .set_ice_lite(self.ice_lite)
            // Packets are forwarded as they come (see `crate::packet`), never depacketized.
            .set_rtp_mode(true)
            // Codecs whose keyframes `crate::packet` finds; a browser offers others, never only them.
            .enable_h265(false)
            .enable_bwe(Some(self.initial_bwe))
            .set_stats_interval(Some(Duration::from_secs(1)))
            .set_sctp_max_buffered_amount(SCTP_SEND_BUFFER)
            .build(now);
        for addr in &self.local_addrs {
            let candidate = Candidate::host(*addr, "udp")
                .map_err(|e| SfuError::BadSdp(format!("local candidate {addr}: {e}")))?;
            rtc.add_local_candidate(candidate);
        }
        Ok(rtc)
    }
}
