//! The relay's identity, kept in a file so its PeerId (and so its address) survives restarts.

use std::fs;
use std::io;
use std::path::Path;

use libp2p::identity::Keypair;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("the key file {path} does not hold a libp2p key: {reason}")]
    Invalid { path: String, reason: String },
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
