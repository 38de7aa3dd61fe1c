//! WebRTC's browser-to-browser signaling (`/webrtc-signaling/0.0.1`, libp2p specs
//! `webrtc/webrtc.md`): over a relayed connection, each message is an unsigned-varint length,
//! then a protobuf `Message { Type type = 1; string data = 2; }` carrying the SDP offer, the
//! SDP answer, or one ICE candidate (`RTCIceCandidate.toJSON()`). Anything malformed is an
//! error, never a panic.

use super::protobuf::{fields, put_bytes, put_number, put_varint, varint, Field};

pub const SIGNALING_PROTOCOL: &str = "/webrtc-signaling/0.0.1";

/// Longest signaling message read: an offer with every candidate inline is a few KB.
pub const MAX_SIGNAL: usize = 64 * 1024;

/// What a signaling message carries, by its protobuf `Type` number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    SdpOffer = 0,
    SdpAnswer = 1,
    IceCandidate = 2,
}

impl SignalKind {
    fn from_number(number: u64) -> Result<Self, String> {
        match number {
            0 => Ok(SignalKind::SdpOffer),
            1 => Ok(SignalKind::SdpAnswer),
            2 => Ok(SignalKind::IceCandidate),
            other => Err(format!("unknown signaling message type {other}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub kind: SignalKind,
    /// The SDP, or the candidate as JSON.
    pub data: String,
}

impl Signal {
    /// The message as it is sent: its length, then the protobuf.
    pub fn framed(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_number(&mut body, 1, self.kind as u64);
        put_bytes(&mut body, 2, self.data.as_bytes());
        let mut out = Vec::with_capacity(body.len() + 3);
        put_varint(&mut out, body.len() as u64);
        out.extend(body);
        out
    }

    /// Reads the framed message at the start of `bytes`: the message and how many bytes it
    /// took, or None while it is incomplete.
    pub fn read(bytes: &[u8]) -> Result<Option<(Signal, usize)>, String> {
        let Some((length, used)) = varint(bytes)? else {
            return Ok(None);
        };
        let length = usize::try_from(length)
            .ok()
            .filter(|&length| length <= MAX_SIGNAL)
            .ok_or_else(|| format!("a signaling message over {MAX_SIGNAL} bytes"))?;
        let Some(body) = bytes.get(used..used + length) else {
            return Ok(None);
        };
        Ok(Some((Signal::decode(body)?, used + length)))
    }

    fn decode(body: &[u8]) -> Result<Signal, String> {
        let (mut kind, mut data) = (None, String::new());
        for field in fields(body) {
            match field? {
                (1, Field::Varint(number)) => kind = Some(SignalKind::from_number(number)?),
                (2, Field::Bytes(bytes)) => {
                    data = String::from_utf8(bytes.to_vec())
                        .map_err(|_| "signaling data that is not UTF-8")?;
                }
                (1 | 2, _) => return Err("a signaling field of the wrong wire type".into()),
                _ => {}
            }
        }
        Ok(Signal {
            kind: kind.ok_or("a signaling message without its type")?,
            data,
        })
    }
}

impl Signal {
    /// What the message carries, as an arrow's label says it: the certificate fingerprint an
    /// offer or answer commits to (the DTLS handshake must show the same), or a candidate's
    /// type, protocol and address.
    pub fn summary(&self) -> String {
        match self.kind {
            SignalKind::SdpOffer | SignalKind::SdpAnswer => {
                let what = if self.kind == SignalKind::SdpOffer {
                    "SDP offer"
                } else {
                    "SDP answer"
                };
                match sdp_fingerprint(&self.data) {
                    Some(fingerprint) => format!("{what} · fingerprint {fingerprint}"),
                    None => format!("{what} · no fingerprint"),
                }
            }
            SignalKind::IceCandidate => match candidate_line(&self.data).as_deref() {
                // js-libp2p sends `null` when the browser has no more candidates (its
                // `icecandidate` event without one); an empty candidate ends a generation.
                _ if self.data.trim() == "null" => "ICE candidate · end of candidates".into(),
                Some("") => "ICE candidate · end of candidates".into(),
                Some(line) => format!("ICE candidate · {}", describe_candidate(line)),
                None => "ICE candidate · not the JSON of a candidate".into(),
            },
        }
    }
}

/// The value of an SDP's `a=fingerprint:` line: the hash algorithm and the hash.
pub fn sdp_fingerprint(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=fingerprint:"))
}

/// The `candidate` string of `RTCIceCandidate.toJSON()`.
fn candidate_line(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Candidate {
        candidate: String,
    }
    serde_json::from_str::<Candidate>(json)
        .ok()
        .map(|c| c.candidate)
}

/// `candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> …`
/// (RFC 8839) as "host 192.0.2.1:5000 UDP"; the line itself when it does not parse.
fn describe_candidate(line: &str) -> String {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match parts.as_slice() {
        [_, _, protocol, _, address, port, "typ", kind, ..] => {
            format!("{kind} {address}:{port} {}", protocol.to_uppercase())
        }
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_offer_is_laid_out_as_the_spec_says() {
        let offer = Signal {
            kind: SignalKind::SdpOffer,
            data: "v=0".into(),
        };
        // Length 7; field 1 varint 0 (SDP_OFFER); field 2, 3 bytes.
        let bytes = [7, 0x08, 0x00, 0x12, 3, b'v', b'=', b'0'];
        assert_eq!(offer.framed(), bytes);
        assert_eq!(Signal::read(&bytes), Ok(Some((offer, bytes.len()))));
    }

    #[test]
    fn each_kind_reads_back() {
        for kind in [
            SignalKind::SdpOffer,
            SignalKind::SdpAnswer,
            SignalKind::IceCandidate,
        ] {
            let signal = Signal {
                kind,
                data: r#"{"candidate":"candidate:1 1 UDP 2122 192.0.2.1 5000 typ host"}"#.into(),
            };
            let framed = signal.framed();
            assert_eq!(Signal::read(&framed), Ok(Some((signal, framed.len()))));
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        // Type 3 does not exist.
        assert!(Signal::read(&[2, 0x08, 3]).is_err());
        // No type.
        assert!(Signal::read(&[3, 0x12, 1, b'x']).is_err());
        // Data that is not UTF-8.
        assert!(Signal::read(&[5, 0x08, 1, 0x12, 1, 0xff]).is_err());
        // Data sent as a number.
        assert!(Signal::read(&[4, 0x08, 1, 0x10, 1]).is_err());
        // Longer than any signaling message.
        let mut too_long = Vec::new();
        put_varint(&mut too_long, MAX_SIGNAL as u64 + 1);
        assert!(Signal::read(&too_long).is_err());
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let bytes = [6, 0x08, 2, 0x18, 9, 0x12, 0];
        let (signal, used) = Signal::read(&bytes).unwrap().unwrap();
        assert_eq!(signal.kind, SignalKind::IceCandidate);
        assert_eq!((signal.data.as_str(), used), ("", bytes.len()));
    }

    #[test]
    fn an_offer_is_summed_up_by_its_fingerprint() {
        let offer = Signal {
            kind: SignalKind::SdpOffer,
            data: "v=0\r\na=fingerprint:sha-256 A8:17:77:1E\r\na=setup:actpass\r\n".into(),
        };
        assert_eq!(
            offer.summary(),
            "SDP offer · fingerprint sha-256 A8:17:77:1E"
        );
    }

    #[test]
    fn a_candidate_is_summed_up_by_type_address_and_protocol() {
        let candidate = Signal {
            kind: SignalKind::IceCandidate,
            data: r#"{"candidate":"candidate:842163049 1 udp 1677729535 3f1c-local.local 54400 typ host generation 0","sdpMid":"0","sdpMLineIndex":0}"#.into(),
        };
        assert_eq!(
            candidate.summary(),
            "ICE candidate · host 3f1c-local.local:54400 UDP"
        );
        let end = Signal {
            kind: SignalKind::IceCandidate,
            data: r#"{"candidate":"","sdpMid":"0"}"#.into(),
        };
        assert_eq!(end.summary(), "ICE candidate · end of candidates");
        let none_left = Signal {
            kind: SignalKind::IceCandidate,
            data: "null".into(),
        };
        assert_eq!(none_left.summary(), "ICE candidate · end of candidates");
        let garbled = Signal {
            kind: SignalKind::IceCandidate,
            data: "candidate:1".into(),
        };
        assert_eq!(
            garbled.summary(),
            "ICE candidate · not the JSON of a candidate"
        );
    }

    fn any_signal() -> impl Strategy<Value = Signal> {
        (0u64..3, ".{0,200}").prop_map(|(kind, data)| Signal {
            kind: SignalKind::from_number(kind).unwrap(),
            data,
        })
    }

    proptest! {
        #[test]
        fn any_bytes_read_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Signal::read(&bytes);
        }

        #[test]
        fn a_signal_reads_back_and_every_prefix_is_incomplete(signal in any_signal()) {
            let framed = signal.framed();
            prop_assert_eq!(Signal::read(&framed), Ok(Some((signal, framed.len()))));
            for cut in 0..framed.len() {
                prop_assert_eq!(Signal::read(&framed[..cut]), Ok(None));
            }
        }
    }
}
