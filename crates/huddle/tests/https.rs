//! HTTPS with the self-signed certificate: pages and signaling over TLS, the plain-HTTP
//! redirect, and TURN over TLS advertised as `turns:` and answering STUN.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::Server;
use futures_util::{SinkExt, StreamExt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

const TLS_FLAGS: &[&str] = &[
    "--tls-self-signed",
    "--turns-listen",
    "127.0.0.1:0",
    "--http-redirect",
    "127.0.0.1:0",
];

/// Accepts any certificate, as a browser does after "proceed anyway" (or
/// `--ignore-certificate-errors`); the handshake and everything after it are real.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn tls_connect(address: SocketAddr) -> TlsStream<TcpStream> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    let tcp = TcpStream::connect(address).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_and_signaling_are_served_over_tls() {
    let server = Server::start(TLS_FLAGS).await;
    let mut page = tls_connect(server.address).await;
    page.write_all(b"GET /r/secure HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    page.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let stream = tls_connect(server.address).await;
    let url = format!("wss://localhost:{}/ws", server.address.port());
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let join = json!({"type": "join", "room": "secure", "name": "Ada", "version": 1});
    socket.send(Message::text(join.to_string())).await.unwrap();
    let joined: Value = loop {
        match socket.next().await.unwrap().unwrap() {
            Message::Text(text) => break serde_json::from_str(&text).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(joined["type"], "joined");
    let urls: Vec<&str> = joined["ice_servers"][1]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|url| url.as_str().unwrap())
        .collect();
    let turns = urls
        .iter()
        .find(|url| url.starts_with("turns:localhost:"))
        .expect("a turns: URL");
    let port: u16 = turns["turns:localhost:".len()..]
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    turn_answers_binding_over_tls(SocketAddr::from(([127, 0, 0, 1], port))).await;
}

/// A STUN Binding request over TLS gets a Binding success response.
async fn turn_answers_binding_over_tls(address: SocketAddr) {
    let mut stream = tls_connect(address).await;
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    request.extend_from_slice(&[7; 12]);
    stream.write_all(&request).await.unwrap();
    let mut header = [0u8; 20];
    stream.read_exact(&mut header).await.unwrap();
    assert_eq!(&header[..2], &[0x01, 0x01], "a Binding success response");
    assert_eq!(&header[8..20], &[7; 12], "for our transaction");
}

#[tokio::test]
async fn plain_http_redirects_to_https() {
    let server = Server::start(TLS_FLAGS).await;
    let redirect = server.redirect.expect("a redirect listener");
    let mut stream = TcpStream::connect(redirect).await.unwrap();
    stream
        .write_all(b"GET /r/secure?name=Ada HTTP/1.1\r\nHost: meet.example.org:8080\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 308"), "{response}");
    let location = format!(
        "location: https://meet.example.org:{}/r/secure?name=Ada",
        server.address.port()
    );
    assert!(response.contains(&location), "{response}");
}
