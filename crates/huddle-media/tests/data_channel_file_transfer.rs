//! A file sent over a reliable data channel reaches every other participant whole, in
//! envelopes that name its sender, even when the SFU's send buffer towards them fills; a
//! receiver that stops reading costs bounded memory and does not hold the others back.

mod common;

use std::time::Duration;

use common::{Bench, NOTHING};
use huddle_media::envelope;
use huddle_media::str0m::channel::{ChannelConfig, ChannelId};
use huddle_media::str0m::Event;

const CHUNK: usize = 16 * 1024;
const FILE: usize = 5 * 1024 * 1024;
const START: &[u8] = br#"{"type":"file-start","name":"a.bin","size":5242880}"#;
const END: &[u8] = br#"{"type":"file-end"}"#;

/// Bytes that differ from chunk to chunk, so a lost or reordered chunk shows.
fn file() -> Vec<u8> {
    let mut x: u32 = 1;
    (0..FILE)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

/// Every client opens a `files` channel next to the bench's `chat`, as the browser does.
fn open_files_channels(b: &mut Bench) -> Vec<ChannelId> {
    let ids: Vec<ChannelId> = b
        .clients
        .iter_mut()
        .map(|c| {
            c.rtc.direct_api().create_data_channel(ChannelConfig {
                label: "files".into(),
                ..Default::default()
            })
        })
        .collect();
    b.run_for(Duration::from_millis(500));
    ids
}

/// Sends the file as the client does: a text header, 16 KiB binary chunks written
/// only while the sender's own buffer takes them, a text trailer.
fn send_file(b: &mut Bench, sender: usize, channel: ChannelId, file: &[u8]) {
    let mut messages = std::iter::once((false, START))
        .chain(file.chunks(CHUNK).map(|c| (true, c)))
        .chain(std::iter::once((false, END)))
        .peekable();
    let until = b.now + Duration::from_secs(30);
    while let Some(&(binary, data)) = messages.peek() {
        if b.now >= until {
            let mut ch = b.clients[sender].rtc.channel(channel).unwrap();
            panic!(
                "the sender's buffer never drained: {} bytes buffered",
                ch.buffered_amount()
            );
        }
        let mut ch = b.clients[sender]
            .rtc
            .channel(channel)
            .expect("files channel");
        if ch.write(binary, data).expect("write") {
            messages.next();
        } else {
            b.progress();
        }
    }
}

/// Messages `client` received on its `files` channel from `sender`, as (binary, data), out of
/// the envelopes the SFU puts them in.
fn received(b: &Bench, client: usize, channel: ChannelId, sender: usize) -> Vec<(bool, Vec<u8>)> {
    b.clients[client]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ChannelData(d) if d.id == channel => {
                assert!(d.binary, "envelopes are binary");
                let (from, binary, data) = envelope::open(&d.data).expect("an envelope");
                assert_eq!(from, b.clients[sender].id, "the SFU names the sender");
                Some((binary, data.to_vec()))
            }
            _ => None,
        })
        .collect()
}

fn assert_whole_file(got: &[(bool, Vec<u8>)], file: &[u8]) {
    assert_eq!(got.len(), FILE / CHUNK + 2, "every message arrived");
    assert_eq!(got[0], (false, START.to_vec()));
    assert_eq!(got[got.len() - 1], (false, END.to_vec()));
    let body = &got[1..got.len() - 1];
    assert!(body.iter().all(|(binary, _)| *binary));
    assert!(
        body.iter()
            .map(|(_, d)| d.as_slice())
            .eq(file.chunks(CHUNK)),
        "chunks arrived in order, byte for byte"
    );
}

#[test]
fn five_mib_file_arrives_whole_and_in_order_at_every_subscriber() {
    let mut b = Bench::new();
    let alice = b.join(NOTHING);
    let bob = b.join(NOTHING);
    let carol = b.join(NOTHING);
    b.connect_all();
    b.run_for(Duration::from_secs(1));
    let files = open_files_channels(&mut b);
    // 8 MB/s: the SFU gets the file several times faster than it can pass it to bob.
    b.clients[bob].downlink = Some(8_000);

    let file = file();
    send_file(&mut b, alice, files[alice], &file);
    b.run_for(Duration::from_secs(3));

    for who in [bob, carol] {
        assert_whole_file(&received(&b, who, files[who], alice), &file);
    }
    assert_eq!(b.sfu.stats().data_channel_dropped, 0);
}

#[test]
fn stalled_receiver_is_capped_and_does_not_hold_back_others() {
    const BACKLOG: usize = 1024 * 1024;
    let mut b = Bench::with_config(|mut c| {
        c.data_channel_backlog = BACKLOG;
        c
    });
    let alice = b.join(NOTHING);
    let bob = b.join(NOTHING);
    let carol = b.join(NOTHING);
    b.connect_all();
    b.run_for(Duration::from_secs(1));
    let files = open_files_channels(&mut b);

    b.clients[carol].downlink = Some(0);
    let file = file();
    send_file(&mut b, alice, files[alice], &file);
    b.run_for(Duration::from_secs(1));

    assert_whole_file(&received(&b, bob, files[bob], alice), &file);
    let sent = (FILE / CHUNK + 2) as u64;
    let dropped = b.sfu.stats().data_channel_dropped;
    // Towards carol only str0m's 1 MiB send buffer and the backlog can hold chunks.
    let held = ((1024 * 1024 + BACKLOG) / CHUNK) as u64;
    assert!(dropped >= sent - held, "dropped {dropped} of {sent}");

    // Once carol reads again she gets what was held, in order, and nothing twice.
    b.clients[carol].downlink = None;
    b.run_for(Duration::from_secs(3));
    let got = received(&b, carol, files[carol], alice);
    assert_eq!(got.len() as u64 + dropped, sent);
    let mut chunks = file.chunks(CHUNK);
    for (_, data) in got.iter().filter(|(binary, _)| *binary) {
        assert!(
            chunks.any(|c| c == data.as_slice()),
            "carol's chunks are in the file's order"
        );
    }
}
