//! The relay's identity, kept in a file so its PeerId (and so its address) survives restarts.

use std::fs;
use std::io;
use std::path::Path;

use libp2p::identity::Keypair;
use libp2p_webrtc::tokio::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("the key file {path} does not hold a libp2p key: {reason}")]
    Invalid { path: String, reason: String },
    #[error("could not make a WebRTC certificate: {0}")]
    Certificate(String),
}

/// Where the WebRTC certificate of the relay whose key is at `key_file` is kept.
pub fn certificate_path(key_file: &Path) -> std::path::PathBuf {
    key_file.with_extension("webrtc.pem")
}

/// Loads the WebRTC certificate from `path`, or makes one and saves it there. Its hash is part
/// of the relay's WebRTC address (`/certhash/…`): a new one would change that address. An
/// unreadable one is replaced, since only the address depends on it.
pub fn load_or_create_certificate(path: &Path) -> Result<Certificate, KeyError> {
    let saved = fs::read_to_string(path).ok();
    if let Some(Ok(certificate)) = saved.map(|pem| Certificate::from_pem(&pem)) {
        return Ok(certificate);
    }
    // libp2p-webrtc ignores the generator it is given: rcgen draws the key itself.
    let certificate = Certificate::generate(&mut rand::rng())
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    let _ = fs::remove_file(path);
    write_private(path, certificate.serialize_pem().as_bytes()).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(certificate)
}

/// Loads the key from `path`, or makes a new ed25519 key and saves it there.
pub fn load_or_create(path: &Path) -> Result<Keypair, KeyError> {
    let io_error = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|e| KeyError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io_error)?;
            }
            let bytes = keypair
                .to_protobuf_encoding()
                .expect("ed25519 keys always encode");
            write_private(path, &bytes).map_err(io_error)?;
            Ok(keypair)
        }
        Err(error) => Err(io_error(error)),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_key_is_loaded_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/relay.key");
        let first = load_or_create(&path).unwrap().public().to_peer_id();
        let second = load_or_create(&path).unwrap().public().to_peer_id();
        assert_eq!(first, second);
    }

    #[test]
    fn the_webrtc_certificate_is_kept_and_a_broken_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = certificate_path(&dir.path().join("relay.key"));
        assert!(path.to_string_lossy().ends_with("relay.webrtc.pem"));
        let first = load_or_create_certificate(&path).unwrap().fingerprint();
        let second = load_or_create_certificate(&path).unwrap().fingerprint();
        assert_eq!(first, second);
        fs::write(&path, b"not a certificate").unwrap();
        let third = load_or_create_certificate(&path).unwrap().fingerprint();
        assert_ne!(third, first);
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.key");
        fs::write(&path, b"garbage").unwrap();
        let error = load_or_create(&path).unwrap_err();
        assert!(
            error.to_string().contains("does not hold a libp2p key"),
            "{error}"
        );
    }
}
