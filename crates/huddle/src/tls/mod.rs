//! HTTPS and TURN over TLS: the certificate (the operator's PEM files, or a self-signed one kept
//! in the data directory), and listeners that hand out streams after the TLS handshake.

mod listener;

pub use listener::{spawn_handshakes, TlsListener};

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Where the server's TLS identity comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certificate {
    /// The operator's PEM files.
    Files { cert: PathBuf, key: PathBuf },
    /// Made once and kept in the data directory, naming these addresses too.
    SelfSigned {
        data_dir: PathBuf,
        external_ips: Vec<IpAddr>,
    },
}

/// The TLS setup of `certificate`, for HTTPS and TURN over TLS.
pub fn server_config(certificate: &Certificate) -> anyhow::Result<Arc<ServerConfig>> {
    let (cert, key) = match certificate {
        Certificate::Files { cert, key } => (cert.clone(), key.clone()),
        Certificate::SelfSigned {
            data_dir,
            external_ips,
        } => self_signed(data_dir, external_ips)?,
    };
    Ok(Arc::new(load(&cert, &key)?))
}

fn load(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("reading the certificate chain {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and key do not make a TLS identity")?;
    // WebSocket upgrades need HTTP/1.1.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// The self-signed certificate of `data_dir`, generated on first use and then kept, so that a
/// browser's exception for it survives restarts. Delete the files to get a new one (say, after
/// the host's address changed).
fn self_signed(data_dir: &Path, external_ips: &[IpAddr]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("self-signed.crt"), dir.join("self-signed.key"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let names = subject_alt_names(external_ips);
    let generated = rcgen::generate_simple_self_signed(names.clone())
        .context("generating a self-signed certificate")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&cert, generated.cert.pem())
        .with_context(|| format!("writing {}", cert.display()))?;
    let _ = std::fs::remove_file(&key);
    crate::access::write_private(&key, generated.signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    tracing::info!(path = %cert.display(), ?names, "generated a self-signed certificate");
    Ok((cert, key))
}

/// localhost, loopback, this host's name and the addresses it is reached at.
fn subject_alt_names(external_ips: &[IpAddr]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_owned());
        }
    }
    let outbound = crate::host::outbound_ip();
    for ip in external_ips.iter().copied().chain(outbound) {
        if !names.contains(&ip.to_string()) {
            names.push(ip.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_is_made_once_and_loads() {
        let dir = std::env::temp_dir().join(format!("huddle-tls-{}", std::process::id()));
        let (cert, key) = self_signed(&dir, &[]).unwrap();
        let first = std::fs::read(&cert).unwrap();
        let (again, _) = self_signed(&dir, &[]).unwrap();
        assert_eq!(std::fs::read(again).unwrap(), first);
        assert!(load(&cert, &key).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
