//! Whether an SDP sends media: a viewer's descriptions must not (receive-only role in a mesh).

use crate::protocol::Signal;

/// True when `signal` is a description with an audio or video section that sends: direction
/// `sendrecv` or `sendonly`, or no direction at all (which means `sendrecv`). Candidates and
/// rollbacks send nothing.
pub fn sends_media(signal: &Signal) -> bool {
    let Signal::Description { description } = signal else {
        return false;
    };
    let mut in_media = false;
    let mut direction_seen = false;
    for line in description.sdp.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            if in_media && !direction_seen {
                return true;
            }
            in_media = media.starts_with("audio") || media.starts_with("video");
            direction_seen = false;
        } else if in_media {
            match line {
                "a=sendrecv" | "a=sendonly" => return true,
                "a=recvonly" | "a=inactive" => direction_seen = true,
                _ => {}
            }
        }
    }
    in_media && !direction_seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SdpKind, SessionDescription};

    fn description(sdp: &str) -> Signal {
        Signal::Description {
            description: SessionDescription {
                kind: SdpKind::Offer,
                sdp: sdp.into(),
            },
        }
    }

    #[test]
    fn only_sending_media_sections_count() {
        let receive_only = "v=0\r\nm=audio 9 UDP 0\r\na=recvonly\r\nm=video 9 UDP 96\r\na=inactive\r\nm=application 9 UDP\r\n";
        assert!(!sends_media(&description(receive_only)));
        let sending = "v=0\r\nm=audio 9 UDP 0\r\na=recvonly\r\nm=video 9 UDP 96\r\na=sendonly\r\n";
        assert!(sends_media(&description(sending)));
        assert!(sends_media(&description(
            "v=0\r\nm=audio 9 UDP 0\r\na=mid:0\r\n"
        )));
        assert!(!sends_media(&description("v=0\r\nm=application 9 UDP\r\n")));
        assert!(!sends_media(&Signal::Candidate { candidate: None }));
    }
}
