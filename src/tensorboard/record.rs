//! TensorBoard's on-disk format: a sequence of TFRecords (little-endian
//! `u64` length, masked CRC-32C of the length, the bytes, masked CRC-32C of
//! the bytes), each holding one `Event` protobuf message (TensorFlow's
//! `event.proto` and `summary.proto`, only the fields tempora writes).
//!
//! The messages are encoded by prost from the struct definitions below (the
//! field numbers are TensorFlow's); the checksums come from the `crc32c`
//! crate. Nothing here is specific to training.

use prost::Message as _;

/// `Event.file_version` of the first record of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// TFRecord's CRC mask constant (TensorFlow `lib/hash/crc32c.h`).
const CRC_MASK_DELTA: u32 = 0xa282_ead8;

/// `tensorflow.Event`: wall time, step and one payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step (tempora: the 1-based epoch).
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// The payload.
    #[prost(oneof = "Payload", tags = "3, 5")]
    pub payload: Option<Payload>,
}

/// `Event.what`: the two payloads tempora writes.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Payload {
    /// The format marker of the file's first event.
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// Scalars.
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary`: named values of one step.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value` with its `simple_value` (a scalar).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// The scalar's tag (TensorBoard's chart name).
    #[prost(string, tag = "1")]
    pub tag: String,
    /// The scalar.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
}

/// The event carrying [`FILE_VERSION`].
pub fn file_version_event(wall_time: f64) -> Event {
    Event {
        wall_time,
        step: 0,
        payload: Some(Payload::FileVersion(FILE_VERSION.to_string())),
    }
}

/// One event holding `values` as scalars at `step`.
pub fn scalars_event(wall_time: f64, step: i64, values: &[(&str, f64)]) -> Event {
    let value = values
        .iter()
        .map(|(tag, v)| SummaryValue {
            tag: (*tag).to_string(),
            simple_value: Some(*v as f32),
        })
        .collect();
    Event {
        wall_time,
        step,
        payload: Some(Payload::Summary(Summary { value })),
    }
}

/// TFRecord's masked CRC-32C (Castagnoli) of `bytes`.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
        .rotate_right(15)
        .wrapping_add(CRC_MASK_DELTA)
}

/// `event` framed as one TFRecord.
pub fn framed(event: &Event) -> Vec<u8> {
    let data = event.encode_to_vec();
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(&masked_crc(&data).to_le_bytes());
    out
}

/// Splits TFRecord-framed bytes back into events, checking both checksums
/// of each record (tempora's own check of what it wrote; TensorBoard's reader
/// is the real test, see `tests/suite/tensorboard.rs`).
pub fn parse(mut bytes: &[u8]) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    while !bytes.is_empty() {
        let take = |bytes: &mut &[u8], n: usize| -> Result<Vec<u8>, String> {
            if bytes.len() < n {
                return Err(format!("truncated record: {} of {n} bytes", bytes.len()));
            }
            let (head, tail) = bytes.split_at(n);
            *bytes = tail;
            Ok(head.to_vec())
        };
        let len_bytes = take(&mut bytes, 8)?;
        let len_crc = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().expect("4 bytes"));
        if len_crc != masked_crc(&len_bytes) {
            return Err("length checksum mismatch".into());
        }
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes")) as usize;
        let data = take(&mut bytes, len)?;
        let data_crc = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().expect("4 bytes"));
        if data_crc != masked_crc(&data) {
            return Err("data checksum mismatch".into());
        }
        events.push(Event::decode(data.as_slice()).map_err(|e| e.to_string())?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_its_mask_match_tensorflow() {
        // CRC-32C check value (RFC 3720, B.4: "123456789" → 0xE3069283).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        // TensorFlow's mask: ((c >> 15) | (c << 17)) + 0xa282ead8, worked out by hand.
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn the_file_version_record_has_tensorflows_bytes() {
        // Field 1 (double, wall_time 0.0) is the proto3 default and not
        // written; field 3 (string) = tag 0x1a, length 13, "brain.Event:2".
        let bytes = file_version_event(0.0).encode_to_vec();
        let mut expected = vec![0x1a, 13];
        expected.extend_from_slice(FILE_VERSION.as_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn records_round_trip_and_a_flipped_byte_is_caught() {
        let events = [
            file_version_event(1.5),
            scalars_event(2.0, 3, &[("loss/train", 0.25), ("lr", 0.1)]),
        ];
        let bytes: Vec<u8> = events.iter().flat_map(framed).collect();
        assert_eq!(parse(&bytes).unwrap(), events);
        let mut bad = bytes.clone();
        let last = bad.len() - 6;
        bad[last] ^= 1;
        assert!(parse(&bad).unwrap_err().contains("checksum"));
        assert!(parse(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("truncated"));
    }
}
