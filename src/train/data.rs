//! Training examples: chunks of normalised mel spectrograms, referenced by
//! (song, start frame) rather than copied, and the batcher that gathers a
//! minibatch into the model's `[batch, bands, frames]` input.
//!
//! Spectrograms are row-major `[frame][band]` ([`MelSpectrogram`]); the model
//! wants `[batch, bands, frames]`, so gathering transposes each chunk.
//!
//! Must not know about models, optimisers or files.

use std::sync::Arc;

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::dataset::{song_chunks, ChunkPolicy, FoldSplit, ShortSongPolicy, ShortSongs, Track};
use crate::features::MelSpectrogram;

use super::TrainError;

/// How songs are cut into examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChunkSpec {
    /// Frames per chunk (paper: 250; CBMI baselines: 80).
    pub frames: usize,
    /// Hop between chunk starts, in frames (Table 1: 250 or 80).
    pub hop: usize,
    /// Which starts a song yields.
    pub policy: ChunkPolicy,
    /// What happens to a song that yields no chunk under `policy`.
    pub short_songs: ShortSongPolicy,
}

/// One song of a [`ChunkSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct SongInfo {
    /// Track id.
    pub track: String,
    /// Class index.
    pub label: usize,
    /// Index into the shared spectrogram list.
    pub spectrogram: usize,
}

/// One example: `frames` consecutive frames of a song from `start` on
/// (zero-padded past the song's end, see [`ShortSongPolicy::Pad`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// Index into [`ChunkSet::songs`].
    pub song: usize,
    /// First frame.
    pub start: usize,
}

/// The examples of one split (training, validation or test) of one fold.
#[derive(Debug, Clone)]
pub struct ChunkSet {
    spectrograms: Arc<[MelSpectrogram]>,
    songs: Vec<SongInfo>,
    chunks: Vec<ChunkRef>,
    frames: usize,
    bands: usize,
    short_songs: ShortSongs,
}

/// The three splits of one cross-validation fold.
#[derive(Debug, Clone)]
pub struct FoldData {
    /// Training chunks (reshuffled every epoch, last incomplete batch dropped).
    pub train: ChunkSet,
    /// Validation chunks (model selection).
    pub validation: ChunkSet,
    /// Test chunks (chunk accuracy and song-level majority vote).
    pub test: ChunkSet,
}

impl ChunkSet {
    /// Cuts `songs` into chunks. Every spectrogram must have `bands` columns.
    ///
    /// A song whose chunk list is empty under `spec.policy` (shorter than
    /// `spec.frames`, or too short for the reference policy's last start) is
    /// either given one chunk at frame 0, zero-padded (in normalised units) to
    /// `spec.frames` ([`ShortSongPolicy::Pad`]), or left out and counted in
    /// [`ChunkSet::short_songs`] ([`ShortSongPolicy::Drop`]); padded songs
    /// are counted there too (the rule of [`song_chunks`]).
    pub fn new(
        spectrograms: Arc<[MelSpectrogram]>,
        songs: Vec<SongInfo>,
        bands: usize,
        spec: &ChunkSpec,
    ) -> Result<Self, TrainError> {
        if spec.frames == 0 || spec.hop == 0 {
            return Err(TrainError::Data(format!(
                "chunk length {} and hop {} must both be positive (spec `[protocol]` chunk settings)",
                spec.frames, spec.hop
            )));
        }
        let mut kept = Vec::with_capacity(songs.len());
        let mut chunks = Vec::new();
        let mut short_songs = ShortSongs::default();
        for song in songs {
            let spectrogram = check_song(&spectrograms, &song, bands)?;
            let cut = song_chunks(
                spectrogram.frames,
                spec.frames,
                spec.hop,
                spec.policy,
                spec.short_songs,
            );
            if cut.short {
                match spec.short_songs {
                    ShortSongPolicy::Pad => short_songs.padded += 1,
                    ShortSongPolicy::Drop => short_songs.dropped += 1,
                }
            }
            if cut.starts.is_empty() {
                continue;
            }
            let index = kept.len();
            chunks.extend(
                cut.starts
                    .into_iter()
                    .map(|start| ChunkRef { song: index, start }),
            );
            kept.push(song);
        }
        let mut set = Self::from_chunks(spectrograms, kept, bands, spec.frames, chunks)?;
        set.short_songs = short_songs;
        Ok(set)
    }

    /// A set with explicit chunks (e.g. chosen by a caller, or in tests).
    /// Every chunk must refer to one of `songs` and start inside its song.
    pub fn from_chunks(
        spectrograms: Arc<[MelSpectrogram]>,
        songs: Vec<SongInfo>,
        bands: usize,
        frames: usize,
        chunks: Vec<ChunkRef>,
    ) -> Result<Self, TrainError> {
        for song in &songs {
            check_song(&spectrograms, song, bands)?;
        }
        for chunk in &chunks {
            let song = songs.get(chunk.song).ok_or_else(|| {
                TrainError::Data(format!(
                    "chunk refers to song {} of {}",
                    chunk.song,
                    songs.len()
                ))
            })?;
            let length = spectrograms[song.spectrogram].frames;
            if chunk.start > 0 && chunk.start >= length {
                return Err(TrainError::Data(format!(
                    "song {}: chunk start {} is past its {length} frames",
                    song.track, chunk.start
                )));
            }
        }
        Ok(Self {
            spectrograms,
            songs,
            chunks,
            frames,
            bands,
            short_songs: ShortSongs::default(),
        })
    }

    /// The songs with at least one chunk, in input order.
    pub fn songs(&self) -> &[SongInfo] {
        &self.songs
    }

    /// Every chunk, song by song, in start order.
    pub fn chunks(&self) -> &[ChunkRef] {
        &self.chunks
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// True when there is no chunk.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Songs that yield no chunk under the chunk policy, padded or dropped
    /// (see [`ShortSongs::warning`] for the line to show users).
    pub fn short_songs(&self) -> ShortSongs {
        self.short_songs
    }

    /// The same set, with the short songs that the chunking behind it padded or dropped.
    pub fn with_short_songs(mut self, short_songs: ShortSongs) -> Self {
        self.short_songs = short_songs;
        self
    }

    /// The spectrograms the songs refer to (shared by a fold's three sets).
    pub fn spectrograms(&self) -> &Arc<[MelSpectrogram]> {
        &self.spectrograms
    }

    /// Frames per chunk.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Mel bands per frame.
    pub fn bands(&self) -> usize {
        self.bands
    }

    /// Frames of song `song` (an index into [`ChunkSet::songs`]).
    pub fn song_frames(&self, song: usize) -> usize {
        self.spectrograms[self.songs[song].spectrogram].frames
    }

    /// Class label of chunk `index`.
    pub fn label(&self, index: usize) -> usize {
        self.songs[self.chunks[index].song].label
    }

    /// Writes chunk `index` transposed to `[band][frame]` into `out`
    /// (`bands * frames` values); frames past the song's end are zero.
    fn gather_into(&self, index: usize, out: &mut [f32]) {
        let chunk = self.chunks[index];
        let spectrogram = &self.spectrograms[self.songs[chunk.song].spectrogram];
        let available = spectrogram
            .frames
            .saturating_sub(chunk.start)
            .min(self.frames);
        out.fill(0.0);
        for t in 0..available {
            let row = &spectrogram.data[(chunk.start + t) * self.bands..][..self.bands];
            for (band, &value) in row.iter().enumerate() {
                out[band * self.frames + t] = value;
            }
        }
    }

    /// Gathers the chunks `indices` into an input `[n, bands, frames]` and
    /// labels `[n]`.
    pub fn batch<B: Backend>(
        &self,
        indices: &[usize],
        device: &B::Device,
    ) -> (Tensor<B, 3>, Tensor<B, 1, Int>) {
        let size = self.bands * self.frames;
        let mut values = vec![0.0f32; indices.len() * size];
        for (&index, out) in indices.iter().zip(values.chunks_exact_mut(size)) {
            self.gather_into(index, out);
        }
        let labels: Vec<i64> = indices.iter().map(|&i| self.label(i) as i64).collect();
        let input = TensorData::new(values, [indices.len(), self.bands, self.frames]);
        let labels = TensorData::new(labels, [indices.len()]);
        (
            Tensor::from_data(input, device),
            Tensor::from_data(labels, device),
        )
    }

    /// Feeds a digest of everything that defines these examples (songs,
    /// labels, starts and spectrogram values) into `hasher`: part of the
    /// checkpoint fingerprint.
    pub fn hash_into(&self, hasher: &mut blake3::Hasher) {
        hasher.update(&(self.songs.len() as u64).to_le_bytes());
        for song in &self.songs {
            hasher.update(song.track.as_bytes());
            hasher.update(&[0]);
            hasher.update(&(song.label as u64).to_le_bytes());
            for value in &self.spectrograms[song.spectrogram].data {
                hasher.update(&value.to_le_bytes());
            }
        }
        hasher.update(&(self.frames as u64).to_le_bytes());
        for chunk in &self.chunks {
            hasher.update(&(chunk.song as u64).to_le_bytes());
            hasher.update(&(chunk.start as u64).to_le_bytes());
        }
    }
}

/// The spectrogram of `song`, checked to exist and to have `bands` bands.
fn check_song<'a>(
    spectrograms: &'a [MelSpectrogram],
    song: &SongInfo,
    bands: usize,
) -> Result<&'a MelSpectrogram, TrainError> {
    let spectrogram = spectrograms.get(song.spectrogram).ok_or_else(|| {
        TrainError::Data(format!(
            "song {} refers to spectrogram {} of {}",
            song.track,
            song.spectrogram,
            spectrograms.len()
        ))
    })?;
    if spectrogram.bands != bands || spectrogram.data.len() != spectrogram.frames * bands {
        return Err(TrainError::Data(format!(
            "song {}: spectrogram has {} bands and {} values for {} frames, the model expects {bands} bands",
            song.track,
            spectrogram.bands,
            spectrogram.data.len(),
            spectrogram.frames
        )));
    }
    Ok(spectrogram)
}

impl FoldData {
    /// Builds a fold's three chunk sets from the dataset's tracks, their
    /// normalised spectrograms (`spectrograms[i]` belongs to `tracks[i]`) and
    /// the fold's split.
    pub fn from_split(
        tracks: &[Track],
        spectrograms: Arc<[MelSpectrogram]>,
        split: &FoldSplit,
        bands: usize,
        spec: &ChunkSpec,
    ) -> Result<Self, TrainError> {
        if tracks.len() != spectrograms.len() {
            return Err(TrainError::Data(format!(
                "{} tracks but {} spectrograms: compute one spectrogram per track",
                tracks.len(),
                spectrograms.len()
            )));
        }
        let set = |indices: &[usize]| -> Result<ChunkSet, TrainError> {
            let songs = indices
                .iter()
                .map(|&i| {
                    let track = tracks.get(i).ok_or_else(|| {
                        TrainError::Data(format!("fold refers to track {i} of {}", tracks.len()))
                    })?;
                    Ok(SongInfo {
                        track: track.id.clone(),
                        label: track.label,
                        spectrogram: i,
                    })
                })
                .collect::<Result<Vec<_>, TrainError>>()?;
            ChunkSet::new(spectrograms.clone(), songs, bands, spec)
        };
        let fold = Self {
            train: set(&split.train)?,
            validation: set(&split.validation)?,
            test: set(&split.test)?,
        };
        for (name, set) in [
            ("training", &fold.train),
            ("validation", &fold.validation),
            ("test", &fold.test),
        ] {
            if let Some(warning) = set.short_songs().warning(spec.frames) {
                tracing::warn!("{name} split: {warning}");
            }
        }
        Ok(fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    /// A spectrogram whose value at (frame t, band b) is `100 t + b`.
    fn ramp(frames: usize, bands: usize) -> MelSpectrogram {
        let data = (0..frames)
            .flat_map(|t| (0..bands).map(move |b| (100 * t + b) as f32))
            .collect();
        MelSpectrogram {
            frames,
            bands,
            data,
        }
    }

    fn song(i: usize, label: usize) -> SongInfo {
        SongInfo {
            track: format!("song{i}"),
            label,
            spectrogram: i,
        }
    }

    fn spec(policy: ChunkPolicy, short_songs: ShortSongPolicy) -> ChunkSpec {
        ChunkSpec {
            frames: 4,
            hop: 2,
            policy,
            short_songs,
        }
    }

    #[test]
    fn batch_transposes_to_bands_by_frames_and_pads_short_songs() {
        let spectrograms: Arc<[MelSpectrogram]> = vec![ramp(3, 2)].into();
        let set = ChunkSet::new(
            spectrograms,
            vec![song(0, 5)],
            2,
            &spec(ChunkPolicy::All, ShortSongPolicy::Pad),
        )
        .unwrap();
        assert_eq!(set.len(), 1);
        let (x, y) = set.batch::<NdArray>(&[0], &Default::default());
        assert_eq!(x.dims(), [1, 2, 4]);
        let x = x.into_data().to_vec::<f32>().unwrap();
        // band 0: frames 0,1,2 then padding; band 1 likewise.
        assert_eq!(x, vec![0.0, 100.0, 200.0, 0.0, 1.0, 101.0, 201.0, 0.0]);
        assert_eq!(y.into_data().to_vec::<i64>().unwrap(), vec![5]);
    }

    #[test]
    fn short_songs_are_dropped_and_counted_under_the_drop_policy() {
        let spectrograms: Arc<[MelSpectrogram]> = vec![ramp(3, 2), ramp(6, 2)].into();
        let set = ChunkSet::new(
            spectrograms,
            vec![song(0, 0), song(1, 1)],
            2,
            &spec(ChunkPolicy::All, ShortSongPolicy::Drop),
        )
        .unwrap();
        assert_eq!(set.short_songs().dropped, 1);
        assert_eq!(set.songs().len(), 1);
        assert_eq!(set.songs()[0].track, "song1");
        assert!(set.chunks().iter().all(|c| c.song == 0));
    }

    #[test]
    fn mismatched_band_count_is_an_error_naming_the_song() {
        let spectrograms: Arc<[MelSpectrogram]> = vec![ramp(8, 3)].into();
        let err = ChunkSet::new(
            spectrograms,
            vec![song(0, 0)],
            2,
            &spec(ChunkPolicy::All, ShortSongPolicy::Pad),
        )
        .unwrap_err();
        assert!(err.to_string().contains("song0"), "{err}");
    }
}
