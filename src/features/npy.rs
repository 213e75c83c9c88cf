//! Encoding a [`MelSpectrogram`] as a NumPy `.npy` (format version 1.0): `<f4`,
//! C order, shape `(frames, bands)`, so other tools can read our features with
//! `np.load`. Writing the bytes to disk (atomically) is the caller's job.
//!
//! Layout: magic `\x93NUMPY`, version `1 0`, little-endian `u16` header length,
//! an ASCII dict padded with spaces and ended by `\n` so that the data starts at a
//! multiple of 64 bytes, then the values as little-endian `f32`.
//!
//! Knows nothing about files.

use std::io::{self, Write};

use super::MelSpectrogram;

const MAGIC: &[u8] = b"\x93NUMPY";
const VERSION_1_0: [u8; 2] = [1, 0];
/// numpy aligns the start of the data to 64 bytes.
const ALIGNMENT: usize = 64;

/// The header bytes (magic to the final `\n`) for a 2-D `<f4` array.
fn header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = MAGIC.len() + VERSION_1_0.len() + 2 + dict.len() + 1;
    let padding = (ALIGNMENT - unpadded % ALIGNMENT) % ALIGNMENT;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(unpadded + padding);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION_1_0);
    // A 2-D shape's dict is far below u16::MAX bytes.
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    out
}

/// Writes `spec` as a `(frames, bands)` float32 `.npy` to `out`.
pub fn write_npy<W: Write>(spec: &MelSpectrogram, mut out: W) -> io::Result<()> {
    out.write_all(&header(spec.frames, spec.bands))?;
    let mut bytes = Vec::with_capacity(spec.data.len() * 4);
    for v in &spec.data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    out.write_all(&bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_array() {
        let spec = MelSpectrogram {
            frames: 2,
            bands: 3,
            data: vec![0.0, 1.0, 2.0, 3.0, 4.0, -1.5],
        };
        let mut bytes = Vec::new();
        write_npy(&spec, &mut bytes).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let data_start = 10 + header_len;
        assert_eq!(data_start % 64, 0);
        assert_eq!(bytes[data_start - 1], b'\n');
        let dict = std::str::from_utf8(&bytes[10..data_start]).unwrap();
        assert!(dict.contains("'descr': '<f4'") && dict.contains("'shape': (2, 3)"));
        assert_eq!(bytes.len(), data_start + 6 * 4);
        assert_eq!(&bytes[bytes.len() - 4..], &(-1.5f32).to_le_bytes());
    }
}
