//! The protobuf wire format, just enough to copy fields we do not change byte for byte.

use prost::encoding::{decode_key, decode_varint, encode_key, encode_varint, WireType};

/// One top-level field of an encoded message.
#[derive(Debug)]
pub(crate) struct Field<'a> {
    /// Field number.
    pub tag: u32,
    /// The whole field as encoded: key, length (if any) and value.
    pub raw: &'a [u8],
    /// The value of a length-delimited field (a message, string or bytes); empty otherwise.
    pub payload: &'a [u8],
}

/// Splits an encoded message into its fields, in order. Groups (deprecated, unused by ONNX)
/// are refused.
pub(crate) fn fields(message: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let mut cursor = rest;
        let (tag, wire_type) = decode_key(&mut cursor).map_err(|e| e.to_string())?;
        let payload = match wire_type {
            WireType::Varint => {
                decode_varint(&mut cursor).map_err(|e| e.to_string())?;
                &[][..]
            }
            WireType::SixtyFourBit => take(&mut cursor, 8).map(|_| &[][..])?,
            WireType::ThirtyTwoBit => take(&mut cursor, 4).map(|_| &[][..])?,
            WireType::LengthDelimited => {
                let len = decode_varint(&mut cursor).map_err(|e| e.to_string())?;
                take(&mut cursor, usize::try_from(len).map_err(|_| "field length overflows".to_string())?)?
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(format!("field {tag} uses the deprecated group encoding"));
            }
        };
        let used = rest.len() - cursor.len();
        out.push(Field { tag, raw: &rest[..used], payload });
        rest = &rest[used..];
    }
    Ok(out)
}

fn take<'a>(cursor: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if cursor.len() < n {
        return Err("truncated field".into());
    }
    let (head, tail) = cursor.split_at(n);
    *cursor = tail;
    Ok(head)
}

/// Appends a length-delimited field `tag` holding `payload`.
pub(crate) fn put_bytes(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_wire_type_and_reassembles_byte_for_byte() {
        let mut msg = Vec::new();
        encode_key(1, WireType::Varint, &mut msg);
        encode_varint(300, &mut msg);
        put_bytes(2, b"hello", &mut msg);
        encode_key(3, WireType::SixtyFourBit, &mut msg);
        msg.extend_from_slice(&1.5f64.to_le_bytes());
        encode_key(4, WireType::ThirtyTwoBit, &mut msg);
        msg.extend_from_slice(&2.5f32.to_le_bytes());
        let parts = fields(&msg).unwrap();
        assert_eq!(parts.iter().map(|f| f.tag).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        assert_eq!(parts[1].payload, b"hello");
        assert!(parts[0].payload.is_empty());
        assert_eq!(parts.iter().flat_map(|f| f.raw.iter().copied()).collect::<Vec<u8>>(), msg);
        assert!(fields(&msg[..msg.len() - 1]).is_err(), "truncated");
        let mut group = Vec::new();
        encode_key(5, WireType::StartGroup, &mut group);
        assert!(fields(&group).unwrap_err().contains("group"));
    }
}
