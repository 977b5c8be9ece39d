//! TLS for connections: rustls for tokio-postgres, verifying against `PGSSLROOTCERT` when set,
//! else encrypting without verification, as libpq's `sslmode=require` does. Builds the TLS
//! configuration once per process; never opens a connection itself.

use std::sync::{Arc, OnceLock};

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

/// The libpq environment variable naming a CA certificate (PEM) to verify the server with.
pub const PGSSLROOTCERT: &str = "PGSSLROOTCERT";

static CONFIG: OnceLock<std::result::Result<Arc<ClientConfig>, String>> = OnceLock::new();

/// The connector for the process's TLS configuration.
pub(super) fn connector() -> Result<MakeRustlsConnect> {
    let config = CONFIG.get_or_init(build).clone().map_err(|reason| Error::Tls { reason })?;
    Ok(MakeRustlsConnect::new((*config).clone()))
}

fn build() -> std::result::Result<Arc<ClientConfig>, String> {
    // rustls 0.23.48 deprecates ring's provider for its lack of post-quantum key exchange,
    // pointing to aws-lc-rs; taulu keeps ring (no C toolchain or cmake for users to install), and
    // PostgreSQL's TLS is classical anyway.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let config = match std::env::var_os(PGSSLROOTCERT).filter(|v| !v.is_empty()) {
        Some(path) => {
            let shown = path.to_string_lossy().into_owned();
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&path).map_err(|e| format!("{PGSSLROOTCERT}={shown}: {e}"))? {
                let cert = cert.map_err(|e| format!("{PGSSLROOTCERT}={shown}: {e}"))?;
                roots.add(cert).map_err(|e| format!("{PGSSLROOTCERT}={shown}: {e}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(EncryptOnly(provider))).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// libpq's `sslmode=require`: the channel is encrypted and the handshake signatures are
/// checked, but the certificate is not verified against any CA.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
