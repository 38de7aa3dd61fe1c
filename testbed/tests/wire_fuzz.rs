//! The wire decoders and the token channels' packet reader fed arbitrary bytes, in arbitrary
//! chunks: they report an error and stop, and never panic. Valid frames decode the same however the bytes are split.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use testbed::wire::decode::{PlainDecoder, RawDecoder, WireItem};
use testbed::wire::multistream::{self, Negotiation};
use testbed::wire::yamux::{Flags, FrameDecoder, FrameType, Header};

fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let end = (start + cut).min(bytes.len());
        chunks.push(bytes[start..end].to_vec());
        start = end;
    }
    chunks.push(bytes[start..].to_vec());
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600),
                                   cuts in prop::collection::vec(1usize..64, 0..12)) {
        let mut plain = PlainDecoder::default();
        let mut raw = RawDecoder::new(true);
        let mut frames = FrameDecoder::default();
        let mut negotiation = Negotiation::default();
        let mut undecodable = 0;
        for chunk in chunked(&bytes, &cuts) {
            undecodable += plain
                .push(&chunk)
                .iter()
                .filter(|i| matches!(i, WireItem::Undecodable { .. }))
                .count();
            raw.push(&chunk);
            frames.push(&chunk);
            negotiation.push(&chunk);
            let _ = multistream::read_message(&chunk);
        }
        prop_assert!(undecodable <= 1, "one error, then silence");
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_start_never_panic(tail in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = multistream::encode(multistream::HEADER);
        bytes.extend(multistream::encode("/yamux/1.0.0"));
        bytes.extend(tail);
        let _ = PlainDecoder::default().push(&bytes);
    }

    #[test]
    fn valid_frames_decode_the_same_however_they_are_split(
        frames in prop::collection::vec((0u8..4, 0u16..16, 0u32..10, 0u32..300), 1..20),
        cuts in prop::collection::vec(1usize..40, 0..30),
    ) {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for (kind, flags, stream, length) in frames {
            let kind = [FrameType::Data, FrameType::WindowUpdate, FrameType::Ping, FrameType::GoAway][usize::from(kind)];
            let stream = if matches!(kind, FrameType::Ping | FrameType::GoAway) { 0 } else { stream };
            let header = Header::new(kind, Flags(flags), stream, length);
            bytes.extend(header.encode());
            bytes.extend(std::iter::repeat_n(7u8, header.body_len() as usize));
            expected.push(header);
        }
        let mut decoder = FrameDecoder::default();
        let headers: Vec<Header> = chunked(&bytes, &cuts)
            .iter()
            .flat_map(|c| decoder.push(c))
            .filter_map(|piece| match piece.unwrap() {
                testbed::wire::yamux::Piece::Header(h) => Some(h),
                _ => None,
            })
            .collect();
        prop_assert_eq!(headers, expected);
    }
}

proptest! {
    #[test]
    fn a_token_channel_fed_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut stream = futures::io::Cursor::new(bytes);
        for _ in 0..10 {
            match futures::executor::block_on(testbed::snapshot::channel::read_packet::<testbed::PeerIndex, _>(&mut stream)) {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}
