//! Reading protobuf by hand, as much as libp2p's small messages need (kad, WebRTC's
//! signaling and framing): unsigned varints, and a message's fields in order. Anything
//! malformed is an error, never a panic; unknown fields are skipped, as prost skips them.

/// An unsigned varint at the start of `bytes` and its length; None while incomplete.
pub(crate) fn varint(bytes: &[u8]) -> Result<Option<(u64, usize)>, String> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate() {
        if i == 9 && byte > 1 {
            return Err("a varint longer than 64 bits".into());
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Ok(None)
}

/// One protobuf field: its number and its value.
pub(crate) enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// 32- and 64-bit fields and proto2 groups, which the libp2p messages read here do not
    /// use: skipped, as prost skips them.
    Skipped,
}

/// Deepest nesting of proto2 groups skipped; deeper is refused rather than recursed into.
const MAX_GROUP_DEPTH: usize = 16;

/// The fields of a protobuf message, in order.
pub(crate) fn fields(mut bytes: &[u8]) -> impl Iterator<Item = Result<(u64, Field<'_>), String>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let result = match next_field(&mut bytes, 0) {
            Ok((number, None)) => Err(format!("field {number} ends a group that never began")),
            Ok((number, Some(field))) => Ok((number, field)),
            Err(error) => Err(error),
        };
        if result.is_err() {
            bytes = &[];
        }
        Some(result)
    })
}

/// Reads the field at the start of `bytes` and moves past it: its number, and its value, or
/// None for the end of a group. A group is skipped whole, `depth` groups deep already.
fn next_field<'a>(bytes: &mut &'a [u8], depth: usize) -> Result<(u64, Option<Field<'a>>), String> {
    let (tag, used) = varint(bytes)?.ok_or("a field tag is cut short")?;
    *bytes = &bytes[used..];
    let number = tag >> 3;
    let field = match tag & 7 {
        0 => {
            let (value, used) = varint(bytes)?.ok_or("a number is cut short")?;
            *bytes = &bytes[used..];
            Field::Varint(value)
        }
        2 => {
            let (length, used) = varint(bytes)?.ok_or("a length is cut short")?;
            let end = usize::try_from(length)
                .ok()
                .and_then(|length| used.checked_add(length))
                .filter(|&end| end <= bytes.len())
                .ok_or("a field is longer than its message")?;
            let value = &bytes[used..end];
            *bytes = &bytes[end..];
            Field::Bytes(value)
        }
        wire @ (1 | 5) => {
            let width = if wire == 1 { 8 } else { 4 };
            *bytes = bytes
                .get(width..)
                .ok_or("a fixed-width field is cut short")?;
            Field::Skipped
        }
        3 => {
            if depth >= MAX_GROUP_DEPTH {
                return Err(format!("groups nested deeper than {MAX_GROUP_DEPTH}"));
            }
            // Everything up to this group's own end.
            loop {
                match next_field(bytes, depth + 1)? {
                    (end, None) if end == number => break,
                    (end, None) => return Err(format!("group {number} ended by field {end}")),
                    (_, Some(_)) => {}
                }
            }
            Field::Skipped
        }
        4 => return Ok((number, None)),
        other => return Err(format!("field {number} has unknown wire type {other}")),
    };
    Ok((number, Some(field)))
}

/// Appends `value` as an unsigned varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends field `number` holding a varint.
pub(crate) fn put_number(out: &mut Vec<u8>, number: u64, value: u64) {
    put_varint(out, number << 3);
    put_varint(out, value);
}

/// Appends field `number` holding bytes (or a string, or a message).
pub(crate) fn put_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    put_varint(out, number << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
