//! Bursts over real loopback sockets: the answers to many requests from one
//! client socket leave the server together (one segmented send on Linux), and
//! the client must still get each answer whole, as its own datagram.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use common::encode;
use huddle_turn::core::stun;
use huddle_turn::{TurnConfig, TurnMetrics, TurnServer};
use stun_codec::rfc5389::attributes::XorMappedAddress;
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::{Message, MessageClass, TransactionId};

const BURST: u8 = 64;

async fn start_server() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let mut config = TurnConfig::new("huddle.test", b"secret".to_vec());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.relay_bind_ip = "127.0.0.1".parse().unwrap();
    let server = TurnServer::bind(config, Arc::new(TurnMetrics::new()))
        .await
        .expect("bind loopback");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

fn binding_request(i: u8) -> Vec<u8> {
    let txid = TransactionId::new([i; 12]);
    let request = Message::<stun::Attribute>::new(MessageClass::Request, BINDING, txid);
    encode(request)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_a_burst_gets_its_own_whole_answer() {
    let (server, _stop) = start_server().await;
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.connect(server).unwrap();
    let answers = tokio::task::spawn_blocking(move || {
        for i in 0..BURST {
            client.send(&binding_request(i)).unwrap();
        }
        let mut buf = [0u8; 1500];
        let answers: Vec<Vec<u8>> = (0..BURST)
            .map(|_| {
                let len = client.recv(&mut buf).expect("an answer");
                buf[..len].to_vec()
            })
            .collect();
        (answers, client.local_addr().unwrap())
    });
    let (answers, me) = answers.await.unwrap();
    let mut ids: Vec<u8> = answers
        .iter()
        .map(|datagram| {
            // A datagram holding more than one answer would not decode (or
            // its FINGERPRINT would not match).
            let answer = stun::decode(datagram).expect("one whole answer per datagram");
            assert_eq!(answer.class(), MessageClass::SuccessResponse);
            let mapped = answer.get_attribute::<XorMappedAddress>().unwrap();
            assert_eq!(mapped.address(), me);
            answer.transaction_id().as_bytes()[0]
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..BURST).collect::<Vec<u8>>());
}
