//! The floor: the least it costs on this machine to send one SRTP packet —
//! encrypt it with str0m's own cipher for the profile str0m negotiates
//! (AEAD-AES-256-GCM, its and dimpl's first choice, which browsers offer too)
//! and `send_to` it over loopback, one system call a packet (the SFU's worker
//! now sends 32 per `sendmmsg`, so it can spend less than this in the kernel)
//! — on the server's CPU. The SFU's CPU per forwarded packet is judged
//! against it.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use huddle_media::str0m::crypto::from_feature_flags;

use crate::batch::RecvBatch;
use crate::sys;

const RTP_HEADER: usize = 12;
const GCM_TAG: usize = 16;

/// CPU µs per packet of sending `count` packets of `sizes` (wire bytes,
/// cycled), pinned to `cpu`; a reader on `reader_cpu` drains them, as the
/// subscribers would.
pub fn micros_per_packet(
    sizes: &[usize],
    count: usize,
    cpu: Option<usize>,
    reader_cpu: Option<usize>,
) -> anyhow::Result<f64> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_nonblocking(true)?;
    sys::grow_recv_buffer(&receiver, 8 << 20);
    let destination = receiver.local_addr()?;
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| drain(&receiver, reader_cpu, &done));
        let sender = scope.spawn(|| {
            let result = send(sizes, count, cpu, destination);
            done.store(true, Ordering::Release);
            result
        });
        sender.join().expect("floor sender panicked")
    })
}

fn send(
    sizes: &[usize],
    count: usize,
    cpu: Option<usize>,
    destination: std::net::SocketAddr,
) -> anyhow::Result<f64> {
    if let Some(cpu) = cpu {
        sys::pin_to(&[cpu])?;
    }
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let provider = from_feature_flags();
    let mut cipher = provider
        .srtp_provider
        .aead_aes_256_gcm()
        .create_cipher([7; 32], true);
    let salt = [3u8; 12];
    let ssrc: u32 = 0x1234_5678;
    let payload = vec![0x5au8; 1500];
    let mut packet = vec![0u8; 1500];
    let start = sys::thread_cpu_time();
    for (seq, &size) in sizes.iter().cycle().take(count).enumerate() {
        let seq = seq as u16;
        let header = rtp_header(seq, ssrc);
        let body = size.saturating_sub(RTP_HEADER + GCM_TAG);
        packet[..RTP_HEADER].copy_from_slice(&header);
        let out = &mut packet[RTP_HEADER..RTP_HEADER + body + GCM_TAG];
        cipher
            .encrypt(&iv(&salt, ssrc, 0, seq), &header, &payload[..body], out)
            .map_err(|e| anyhow::anyhow!("SRTP encrypt: {e:?}"))?;
        // A full receive buffer drops the packet, as it would for the SFU.
        let _ = socket.send_to(&packet[..RTP_HEADER + body + GCM_TAG], destination);
    }
    let cpu = sys::thread_cpu_time() - start;
    Ok(cpu.as_secs_f64() * 1e6 / count.max(1) as f64)
}

fn rtp_header(seq: u16, ssrc: u32) -> [u8; RTP_HEADER] {
    let mut h = [0u8; RTP_HEADER];
    h[0] = 0x80;
    h[1] = 96;
    h[2..4].copy_from_slice(&seq.to_be_bytes());
    h[4..8].copy_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    h[8..12].copy_from_slice(&ssrc.to_be_bytes());
    h
}

/// The SRTP AEAD IV (RFC 7714 §8.1): the salt XOR 00 00 || SSRC || ROC || SEQ.
fn iv(salt: &[u8; 12], ssrc: u32, roc: u32, seq: u16) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..10].copy_from_slice(&roc.to_be_bytes());
    iv[10..12].copy_from_slice(&seq.to_be_bytes());
    for (b, s) in iv.iter_mut().zip(salt) {
        *b ^= s;
    }
    iv
}

fn drain(socket: &UdpSocket, cpu: Option<usize>, done: &AtomicBool) {
    if let Some(cpu) = cpu {
        let _ = sys::pin_to(&[cpu]);
    }
    let mut batch = RecvBatch::default();
    let mut ready = Vec::new();
    while !done.load(Ordering::Acquire) {
        let _ = sys::poll_readable(&[socket], Duration::from_millis(20), &mut ready);
        while matches!(batch.recv(socket), Ok(n) if n > 0) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iv_mixes_ssrc_roc_and_seq_into_the_salt() {
        let salt = [0xff; 12];
        let iv = iv(&salt, 0x0102_0304, 0, 0x0506);
        assert_eq!(
            iv,
            [0xff, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xfa, 0xf9]
        );
    }
}
