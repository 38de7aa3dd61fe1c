//! Trace context carried inside messages, in the W3C `traceparent` format
//! (`00-<trace id, 32 hex>-<span id, 16 hex>-<flags, 2 hex>`), so that a receive on one peer
//! can be linked to the send on another that caused it.

use std::fmt;
use std::str::FromStr;

/// The one version of `traceparent` this page writes and reads.
const VERSION: &str = "00";
/// Flag bit meaning "this trace is recorded".
const SAMPLED: u8 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub u128);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub u64);

/// Which trace a message belongs to and which span sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub sampled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceparentError {
    #[error("a traceparent has four parts separated by '-', this has {0}")]
    Parts(usize),
    #[error("traceparent version {0:?} is not supported (only 00)")]
    Version(String),
    #[error("the {field} {value:?} is not {digits} lowercase hex digits")]
    Hex {
        field: &'static str,
        value: String,
        digits: usize,
    },
    #[error("the {0} must not be all zeros")]
    Zero(&'static str),
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{VERSION}-{:032x}-{:016x}-{:02x}",
            self.trace_id.0,
            self.span_id.0,
            if self.sampled { SAMPLED } else { 0 }
        )
    }
}

fn hex(field: &'static str, value: &str, digits: usize) -> Result<u128, TraceparentError> {
    let valid = value.len() == digits
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let error = || TraceparentError::Hex {
        field,
        value: value.chars().take(40).collect(),
        digits,
    };
    if !valid {
        return Err(error());
    }
    u128::from_str_radix(value, 16).map_err(|_| error())
}

impl FromStr for TraceContext {
    type Err = TraceparentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('-').collect();
        let [version, trace_id, span_id, flags] = parts[..] else {
            return Err(TraceparentError::Parts(parts.len()));
        };
        if version != VERSION {
            return Err(TraceparentError::Version(version.chars().take(8).collect()));
        }
        let trace_id = hex("trace id", trace_id, 32)?;
        let span_id = hex("span id", span_id, 16)? as u64;
        let flags = hex("flags", flags, 2)? as u8;
        if trace_id == 0 {
            return Err(TraceparentError::Zero("trace id"));
        }
        if span_id == 0 {
            return Err(TraceparentError::Zero("span id"));
        }
        Ok(TraceContext {
            trace_id: TraceId(trace_id),
            span_id: SpanId(span_id),
            sampled: flags & SAMPLED != 0,
        })
    }
}

/// In messages a context is its `traceparent` text.
impl serde::Serialize for TraceContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TraceContext {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_w3c_example_parses_and_prints_back() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context: TraceContext = text.parse().unwrap();
        assert_eq!(
            context.trace_id,
            TraceId(0x4bf92f3577b34da6a3ce929d0e0e4736)
        );
        assert_eq!(context.span_id, SpanId(0x00f067aa0ba902b7));
        assert!(context.sampled);
        assert_eq!(context.to_string(), text);
    }

    #[test]
    fn malformed_traceparents_are_rejected_with_a_reason() {
        let cases = [
            ("", "four parts"),
            (
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "version",
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "trace id",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
                "trace id",
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
                "flags",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-+0f067aa0ba902b7-01",
                "span id",
            ),
        ];
        for (text, reason) in cases {
            let error = text.parse::<TraceContext>().unwrap_err().to_string();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
    }
}
