//! Interop with aiortc, a WebRTC implementation written by neither the browsers nor str0m: two
//! aiortc participants (`interop/aiortc_client.py`) join an sfu room over the real WebSocket
//! signaling, each publishes a camera of one flat luma and a microphone, and each decodes the
//! other's video (with the other's luma, so it is that picture) and audio through the SFU.
//!
//! Needs Python with the packages of `interop/requirements.txt`: `$HUDDLE_PYTHON`, else the
//! virtual environment `scripts/test` makes in `target/venv`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::Server;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SFU_FLAGS: &[&str] = &["--media-mode", "sfu", "--sfu-workers", "1", "--no-turn"];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

fn python() -> PathBuf {
    let python = std::env::var_os("HUDDLE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/venv/bin/python"));
    assert!(
        python.exists(),
        "no Python for the aiortc interop test at {}: run scripts/test, or \
         python3 -m venv target/venv && target/venv/bin/pip install -r interop/requirements.txt",
        python.display()
    );
    python
}

/// One aiortc participant sending a flat picture of `luma`; it runs until it decoded the others.
fn participant(server: &Server, room: &str, name: &str, luma: u8) -> Child {
    Command::new(python())
        .arg(workspace().join("interop/aiortc_client.py"))
        .args(["--url", &format!("ws://{}/ws", server.address)])
        .args(["--room", room, "--name", name, "--luma", &luma.to_string()])
        .args(["--expect-publishers", "1", "--timeout", "40", "--loopback"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the aiortc client starts")
}

/// The client's JSON lines, by event name, once it exited successfully.
async fn report(child: Child) -> Vec<Value> {
    let mut child = child;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = vec![];
    while let Some(line) = lines.next_line().await.unwrap() {
        events.push(serde_json::from_str::<Value>(&line).expect("a JSON line"));
    }
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the aiortc client ends")
        .unwrap();
    assert!(status.success(), "aiortc client failed: {events:?}");
    events
}

fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} in {events:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_aiortc_participants_decode_each_others_video_and_audio_through_the_sfu() {
    let server = Server::start(SFU_FLAGS).await;
    let ada = participant(&server, "interop", "ada", 60);
    let bo = participant(&server, "interop", "bo", 200);
    let (ada, bo) = tokio::join!(report(ada), report(bo));

    // Each decodes the other's picture: ada sent luma 60, bo 200.
    for (me, other, sent) in [(&ada, &bo, 200.0), (&bo, &ada, 60.0)] {
        assert_eq!(event(me, "joined")["mode"], "sfu");
        let other_id = event(other, "joined")["you"].as_str().unwrap();
        let got = &event(me, "done")["received"][other_id];
        assert!(got["video_frames"].as_u64().unwrap() >= 10, "{got}");
        assert!(got["audio_frames"].as_u64().unwrap() >= 10, "{got}");
        assert_eq!(got["size"], serde_json::json!([320, 240]), "{got}");
        let luma = got["mean_luma"].as_f64().unwrap();
        assert!(
            (luma - sent).abs() < 8.0,
            "decoded luma {luma}, sent {sent}"
        );
    }
    server.stop().await;
}
