//! `tcp://` engines that require TLS, as `docker --tlsverify` reaches them:
//! the server's certificate must chain to the given CA (and no other) and
//! name the host; deckhand presents the client certificate and key.
//!
//! Each API connection is one TLS stream behind a [`Bridge`] socket. The first
//! handshake is made before anything else, so that a certificate problem is
//! reported with its cause rather than as a dropped connection.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::bridge::{Bridge, Connect, Duplex, Guard};
use super::unreachable::Unreachable;
use super::TlsFiles;

/// How long one TCP connect may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn client_config(tls: &TlsFiles) -> Result<rustls::ClientConfig, String> {
    let read = |what: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| format!("cannot read the TLS {what} {}: {e}", path.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&read("ca", &tls.ca)?) {
        let cert = cert.map_err(|e| format!("the TLS ca {} is not PEM: {e}", tls.ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("the TLS ca {}: {e}", tls.ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "the TLS ca {} holds no certificate",
            tls.ca.display()
        ));
    }
    let chain = CertificateDer::pem_slice_iter(&read("cert", &tls.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the TLS cert {} is not PEM: {e}", tls.cert.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&read("key", &tls.key)?).map_err(|e| {
        format!(
            "the TLS key {} holds no private key: {e}",
            tls.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("the TLS cert and key do not go together: {e}"))
}

/// `tcp://host:port[/]` as (host, port).
fn address(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("tcp://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("'{url}' names no port"))?;
    let port = port
        .parse()
        .map_err(|_| format!("'{url}' has an invalid port"))?;
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    ))
}

/// Verifies the engine at `url` once, then bridges to it.
pub async fn start(url: &str, tls: &TlsFiles) -> Result<Bridge, Unreachable> {
    let tls_problem = |problem: String| Unreachable::Tls { problem };
    let config = Arc::new(client_config(tls).map_err(tls_problem)?);
    let (host, port) = address(url).map_err(|problem| Unreachable::BadUrl { problem })?;
    let name = ServerName::try_from(host.clone()).map_err(|_| Unreachable::BadUrl {
        problem: format!("'{host}' is not a host name TLS can verify"),
    })?;
    let connect: Connect = Arc::new(move || {
        let (config, name, host) = (config.clone(), name.clone(), host.clone());
        Box::pin(async move {
            let tcp =
                tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
                    .await
                    .map_err(|_| {
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer")
                    })??;
            let stream = TlsConnector::from(config).connect(name, tcp).await?;
            let stream: Box<dyn Duplex> = Box::new(stream);
            let guard: Guard = Box::new(());
            Ok((stream, guard))
        })
    });
    // The first handshake here, where its error can still be told.
    connect().await.map_err(|e| {
        Unreachable::of_io(e.kind(), None).unwrap_or_else(|| match e.get_ref() {
            Some(inner) => tls_problem(format!("the TLS handshake failed: {inner}")),
            None => tls_problem(format!("the TLS handshake failed: {e}")),
        })
    })?;
    Bridge::start(connect).map_err(tls_problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_urls_give_host_and_port() {
        assert_eq!(
            address("tcp://10.0.0.5:2376").unwrap(),
            ("10.0.0.5".to_string(), 2376)
        );
        assert_eq!(
            address("tcp://edge.example:2376/").unwrap(),
            ("edge.example".to_string(), 2376)
        );
        assert!(address("tcp://edge").is_err());
    }

    #[test]
    fn missing_or_empty_certificate_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let files = |ca: &std::path::Path| TlsFiles {
            ca: ca.to_path_buf(),
            cert: empty.clone(),
            key: empty.clone(),
        };
        let missing = dir.path().join("missing.pem");
        assert!(client_config(&files(&missing))
            .unwrap_err()
            .contains("cannot read the TLS ca"));
        assert!(client_config(&files(&empty))
            .unwrap_err()
            .contains("holds no certificate"));
    }
}
