//! Chunks: the windows of `N` consecutive frames a song is cut into.
//!
//! # Policies
//! - [`ChunkPolicy::Reference`]: starts 0, h, 2h, … strictly below
//!   ⌊(L − N)/h⌋·h, as the reference implementation computes them (it drops the
//!   last possible chunk). A song of L frames with N ≤ L < N + h — or any
//!   L < N — therefore yields *no* chunk.
//! - [`ChunkPolicy::All`]: every full chunk, starts 0, h, … while start + N ≤ L.
//!
//! # Short songs ([`ShortSongPolicy`])
//! A song is *short* when its chunk policy yields no chunk. Then:
//! - `Pad`: the song gets exactly one chunk, at frame 0; if L < N the caller
//!   zero-pads it (in normalised units) up to N frames
//!   ([`SongChunks::padding`] says how many frames). A song with N ≤ L < N + h
//!   under the reference policy needs no padding: its first chunk exists.
//! - `Drop`: the song gets no chunk.
//!
//! Either way [`chunk_songs`] counts the short songs so the caller emits one
//! clear, counted warning ([`ShortSongs::warning`]): never a silent loss.
//!
//! Must not know about features or training.

use super::{ChunkPolicy, ShortSongPolicy};

/// Chunk start frames for a song of `frames` frames, chunks of `chunk` frames,
/// hop `hop`. Returns no start when `chunk` or `hop` is 0.
pub fn chunk_starts(frames: usize, chunk: usize, hop: usize, policy: ChunkPolicy) -> Vec<usize> {
    if chunk == 0 || hop == 0 || frames < chunk {
        return Vec::new();
    }
    let end = match policy {
        // Starts strictly below ⌊(L − N)/h⌋·h.
        ChunkPolicy::Reference => (frames - chunk) / hop * hop,
        // Starts up to and including L − N.
        ChunkPolicy::All => frames - chunk + 1,
    };
    (0..end).step_by(hop).collect()
}

/// The chunks of one song after the short-song policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongChunks {
    /// Chunk start frames.
    pub starts: Vec<usize>,
    /// Frames of zero padding the (single) chunk needs past the song's end.
    pub padding: usize,
    /// Whether the song was short (its policy gave no chunk).
    pub short: bool,
}

/// How many short songs were padded or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShortSongs {
    /// Short songs given one (possibly padded) chunk.
    pub padded: usize,
    /// Short songs left out.
    pub dropped: usize,
}

impl ShortSongs {
    /// One warning line for all short songs, or `None` when there were none.
    pub fn warning(&self, chunk: usize) -> Option<String> {
        match (self.padded, self.dropped) {
            (0, 0) => None,
            (padded, 0) => Some(format!(
                "{padded} song(s) too short for one chunk of {chunk} frames under the chunk \
                 policy: each gets one chunk at frame 0, zero-padded if needed"
            )),
            (_, dropped) => Some(format!(
                "{dropped} song(s) too short for one chunk of {chunk} frames were dropped \
                 (short-song policy 'drop'; use 'pad' to keep them)"
            )),
        }
    }
}

/// Chunks of one song of `frames` frames under both policies.
pub fn song_chunks(
    frames: usize,
    chunk: usize,
    hop: usize,
    policy: ChunkPolicy,
    short: ShortSongPolicy,
) -> SongChunks {
    let starts = chunk_starts(frames, chunk, hop, policy);
    if !starts.is_empty() || chunk == 0 || hop == 0 {
        return SongChunks {
            starts,
            padding: 0,
            short: false,
        };
    }
    match short {
        ShortSongPolicy::Pad => SongChunks {
            starts: vec![0],
            padding: chunk.saturating_sub(frames),
            short: true,
        },
        ShortSongPolicy::Drop => SongChunks {
            starts,
            padding: 0,
            short: true,
        },
    }
}

/// Chunks of every song (frame counts in dataset order) and the short-song count.
pub fn chunk_songs(
    frames: &[usize],
    chunk: usize,
    hop: usize,
    policy: ChunkPolicy,
    short: ShortSongPolicy,
) -> (Vec<SongChunks>, ShortSongs) {
    let mut count = ShortSongs::default();
    let songs = frames
        .iter()
        .map(|&l| {
            let s = song_chunks(l, chunk, hop, policy, short);
            if s.short {
                match short {
                    ShortSongPolicy::Pad => count.padded += 1,
                    ShortSongPolicy::Drop => count.dropped += 1,
                }
            }
            s
        })
        .collect();
    (songs, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference definition, written as directly as possible.
    fn reference(l: usize, n: usize, h: usize) -> Vec<usize> {
        if l < n {
            return vec![];
        }
        let limit = (l - n) / h * h;
        (0..).map(|k| k * h).take_while(|&s| s < limit).collect()
    }

    #[test]
    fn matches_definitions_on_small_numbers() {
        for l in 0..60 {
            for n in 1..12 {
                for h in 1..12 {
                    assert_eq!(
                        chunk_starts(l, n, h, ChunkPolicy::Reference),
                        reference(l, n, h)
                    );
                    let all = chunk_starts(l, n, h, ChunkPolicy::All);
                    assert!(all.iter().all(|&s| s + n <= l && s % h == 0));
                    let next = all.last().map_or(0, |&s| s + h);
                    assert!(next + n > l, "missed a full chunk: l={l} n={n} h={h}");
                    // The reference policy is the "all" policy minus its tail.
                    let r = chunk_starts(l, n, h, ChunkPolicy::Reference);
                    assert!(all.starts_with(&r));
                    assert_eq!(
                        all.len(),
                        r.len() + usize::from(l >= n),
                        "l={l} n={n} h={h}"
                    );
                }
            }
        }
    }

    #[test]
    fn paper_numbers() {
        // 31.8 s Ballroom fixture ≈ 1371 frames at hop 1024; N = h = 250.
        assert_eq!(
            chunk_starts(1371, 250, 250, ChunkPolicy::Reference),
            [0, 250, 500, 750]
        );
        assert_eq!(
            chunk_starts(1371, 250, 250, ChunkPolicy::All),
            [0, 250, 500, 750, 1000]
        );
        // N ≤ L < N + h: zero chunks under the reference policy.
        assert!(chunk_starts(300, 250, 250, ChunkPolicy::Reference).is_empty());
        assert!(chunk_starts(0, 0, 1, ChunkPolicy::All).is_empty());
    }

    #[test]
    fn short_songs_are_padded_or_dropped_and_counted() {
        let frames = [100, 300, 1371];
        let (songs, count) = chunk_songs(
            &frames,
            250,
            250,
            ChunkPolicy::Reference,
            ShortSongPolicy::Pad,
        );
        assert_eq!(
            songs[0],
            SongChunks {
                starts: vec![0],
                padding: 150,
                short: true
            }
        );
        assert_eq!(
            songs[1],
            SongChunks {
                starts: vec![0],
                padding: 0,
                short: true
            }
        );
        assert_eq!(songs[2].starts.len(), 4);
        assert_eq!(
            count,
            ShortSongs {
                padded: 2,
                dropped: 0
            }
        );
        assert!(count
            .warning(250)
            .is_some_and(|w| w.starts_with("2 song(s)")));
        let (songs, count) = chunk_songs(
            &frames,
            250,
            250,
            ChunkPolicy::Reference,
            ShortSongPolicy::Drop,
        );
        assert!(songs[0].starts.is_empty() && songs[1].starts.is_empty());
        assert_eq!(
            count,
            ShortSongs {
                padded: 0,
                dropped: 2
            }
        );
        assert_eq!(ShortSongs::default().warning(250), None);
    }
}
