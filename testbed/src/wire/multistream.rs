//! multistream-select, the negotiation that opens every connection and every stream: each
//! message is an unsigned varint length, then that many bytes ending in a newline:
//! `/multistream/1.0.0`, then a protocol such as `/noise` that the other side echoes to accept
//! (or answers `na`). Once a protocol is agreed, the bytes that follow are that protocol's.

pub const HEADER: &str = "/multistream/1.0.0";

/// Longest message read: protocol names are short; this is the spec's limit.
pub const MAX_MESSAGE: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultistreamError {
    #[error("a multistream-select length that does not end within two bytes")]
    Length,
    #[error("a multistream-select message of {0} bytes; at most {MAX_MESSAGE} are allowed")]
    TooLong(usize),
    #[error("an empty multistream-select message")]
    Empty,
    #[error("a multistream-select message that does not end in a newline")]
    NoNewline,
    #[error("a multistream-select message that is not text")]
    NotText,
}

/// Reads one message from the front of `bytes`: the text without its newline and the bytes it
/// took, or None when more bytes are needed.
pub fn read_message(bytes: &[u8]) -> Result<Option<(String, usize)>, MultistreamError> {
    let mut len = 0usize;
    let mut prefix = 0;
    loop {
        let Some(&byte) = bytes.get(prefix) else {
            return Ok(None);
        };
        len |= usize::from(byte & 0x7f) << (7 * prefix);
        prefix += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if prefix == 2 {
            return Err(MultistreamError::Length);
        }
    }
    match len {
        0 => return Err(MultistreamError::Empty),
        len if len > MAX_MESSAGE => return Err(MultistreamError::TooLong(len)),
        _ => {}
    }
    let Some(body) = bytes.get(prefix..prefix + len) else {
        return Ok(None);
    };
    let Some(text) = body.strip_suffix(b"\n") else {
        return Err(MultistreamError::NoNewline);
    };
    let text = std::str::from_utf8(text).map_err(|_| MultistreamError::NotText)?;
    Ok(Some((text.to_owned(), prefix + len)))
}

/// Encodes a message (for tests and hand-built streams).
pub fn encode(text: &str) -> Vec<u8> {
    let len = text.len() + 1;
    let mut bytes = Vec::with_capacity(len + 2);
    if len < 0x80 {
        bytes.push(len as u8);
    } else {
        bytes.push((len as u8 & 0x7f) | 0x80);
        bytes.push((len >> 7) as u8);
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    bytes
}

/// One side's half of a negotiation, read as its bytes arrive: the messages, until a
/// protocol is named (proposed by the side that opened, or echoed by the side that accepts).
#[derive(Debug, Default)]
pub struct Negotiation {
    buffer: Vec<u8>,
    agreed: Option<String>,
    failed: bool,
}

/// What a chunk of bytes held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Read {
    pub messages: Vec<String>,
    pub error: Option<MultistreamError>,
    /// Bytes after the negotiation: the agreed protocol's.
    pub rest: Vec<u8>,
}

impl Negotiation {
    /// The protocol agreed on, once this side has named it.
    pub fn agreed(&self) -> Option<&str> {
        self.agreed.as_deref()
    }

    pub fn push(&mut self, bytes: &[u8]) -> Read {
        let mut read = Read::default();
        if self.agreed.is_some() {
            read.rest = bytes.to_vec();
            return read;
        }
        if self.failed {
            return read;
        }
        self.buffer.extend_from_slice(bytes);
        let mut used = 0;
        while self.agreed.is_none() {
            match read_message(&self.buffer[used..]) {
                Ok(Some((text, len))) => {
                    used += len;
                    if text != HEADER && text != "na" && text != "ls" {
                        self.agreed = Some(text.clone());
                    }
                    read.messages.push(text);
                }
                Ok(None) => break,
                Err(error) => {
                    self.failed = true;
                    read.error = Some(error);
                    self.buffer.clear();
                    return read;
                }
            }
        }
        if self.agreed.is_some() {
            read.rest = self.buffer.split_off(used);
            self.buffer.clear();
        } else {
            self.buffer.drain(..used);
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negotiation_ends_with_the_protocol_and_hands_on_the_rest() {
        let mut bytes = encode(HEADER);
        bytes.extend(encode("/noise"));
        bytes.extend([0, 32, 1, 2, 3]);
        assert_eq!(bytes[0], 19, "the length counts the newline");
        for chunk in 1..bytes.len() {
            let mut negotiation = Negotiation::default();
            let mut messages = Vec::new();
            let mut rest = Vec::new();
            for piece in bytes.chunks(chunk) {
                let read = negotiation.push(piece);
                assert_eq!(read.error, None);
                messages.extend(read.messages);
                rest.extend(read.rest);
            }
            assert_eq!(messages, [HEADER, "/noise"]);
            assert_eq!(rest, [0, 32, 1, 2, 3]);
            assert_eq!(negotiation.agreed(), Some("/noise"));
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert_eq!(read_message(&[0]), Err(MultistreamError::Empty));
        assert_eq!(
            read_message(&[0xff, 0xff, 0x01]),
            Err(MultistreamError::Length)
        );
        assert_eq!(
            read_message(&[0x80, 0x10]),
            Err(MultistreamError::TooLong(2048))
        );
        assert_eq!(read_message(b"\x03abc"), Err(MultistreamError::NoNewline));
        assert_eq!(
            read_message(b"\x03\xff\xfe\n"),
            Err(MultistreamError::NotText)
        );
        assert_eq!(read_message(b"\x05ab"), Ok(None));
        let long = "/a".repeat(100);
        assert_eq!(read_message(&encode(&long)), Ok(Some((long, 203))));
    }
}
