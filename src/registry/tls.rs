//! What skiff's TLS offers a registry: rustls' algorithms on *ring*, less ChaCha20.
//!
//! A TLS handshake settles three things, each from a list the client offers:
//! - the **cipher suite**, the AEAD that seals every record: AES-GCM only.
//!   ChaCha20-Poly1305 exists for CPUs without AES instructions; its code is 51 KB
//!   of the binary and no server needs it: TLS 1.3 requires TLS_AES_128_GCM_SHA256
//!   of every peer (RFC 8446, section 9.1), and every TLS 1.2 server that rustls can
//!   talk to (ECDHE with an AEAD) offers AES-GCM as well.
//! - the **key exchange group**: X25519, P-256, P-384, rustls' defaults.
//! - the **signature algorithms** a certificate chain may use: all that rustls
//!   verifies with *ring*, listed as rustls lists them.
//!
//! rustls' own `ring::default_provider()` differs only by the ChaCha20 suites, but it
//! names all its suites, and so keeps their code in the binary whether offered or not.
//! <https://www.rfc-editor.org/rfc/rfc8446#section-9.1>
//! <https://docs.rs/rustls/0.23/rustls/crypto/struct.CryptoProvider.html>

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite::*, ALL_KX_GROUPS};
use rustls::crypto::WebPkiSupportedAlgorithms as Algorithms;
use rustls::crypto::{CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::SignatureScheme as Scheme;
use webpki::ring as alg;

/// The algorithms every connection skiff makes may use (see the module doc).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_256_GCM_SHA384,
            TLS13_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ],
        kx_groups: ALL_KX_GROUPS.to_vec(),
        signature_verification_algorithms: SIGNATURES,
        secure_random: &Ring,
        key_provider: &Ring,
    })
}

/// rustls' table for *ring*: what a certificate may be signed with, and for TLS 1.3's
/// `CertificateVerify`, which algorithms each scheme allows (in TLS 1.2 a scheme does
/// not fix the curve).
static SIGNATURES: Algorithms = Algorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        (
            Scheme::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (
            Scheme::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (Scheme::ED25519, &[alg::ED25519]),
        (
            Scheme::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            Scheme::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            Scheme::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (Scheme::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
        (Scheme::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
        (Scheme::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
    ],
};

/// Randomness and private keys from *ring*, as rustls' provider has them (the provider
/// that holds them is private to rustls).
#[derive(Debug)]
struct Ring;

impl SecureRandom for Ring {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

impl KeyProvider for Ring {
    /// Only a client certificate would need one, and skiff sends none yet. *ring*'s
    /// key loading and signing (`sign::any_supported_type`) would add 36 KB to the
    /// binary for nothing: put it back here with client certificates.
    fn load_private_key(
        &self,
        _key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "skiff sends no client certificate".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_no_chacha20_and_keeps_rustls_verification() {
        let ours = provider();
        let theirs = rustls::crypto::ring::default_provider();
        let names = |p: &CryptoProvider| {
            let suites = p.cipher_suites.iter().map(|s| format!("{:?}", s.suite()));
            suites.collect::<Vec<_>>()
        };
        let expected: Vec<_> = names(&theirs)
            .into_iter()
            .filter(|name| !name.contains("CHACHA20"))
            .collect();
        assert_eq!(names(&ours), expected);
        assert_eq!(
            signatures(&ours.signature_verification_algorithms),
            signatures(&theirs.signature_verification_algorithms)
        );
        let groups = |p: &CryptoProvider| format!("{:?}", p.kx_groups);
        assert_eq!(groups(&ours), groups(&theirs));
    }

    /// Each algorithm by its identifiers, then each scheme's algorithms.
    fn signatures(table: &Algorithms) -> String {
        let ids = |algs: &[&dyn rustls::pki_types::SignatureVerificationAlgorithm]| {
            let ids = algs
                .iter()
                .map(|a| (a.public_key_alg_id(), a.signature_alg_id()));
            format!("{:?}", ids.collect::<Vec<_>>())
        };
        let schemes = table
            .mapping
            .iter()
            .map(|(s, algs)| format!("{s:?} {}", ids(algs)));
        format!("{} {:?}", ids(table.all), schemes.collect::<Vec<_>>())
    }
}
