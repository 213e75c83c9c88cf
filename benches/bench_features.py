#!/usr/bin/env python3
"""Benchmark of decode + paper features: tempora against essentia and librosa.

What it times, on the audio files of one directory (`just bench-features`
writes the `full` synthetic corpus, 698 x 30 s, with `tempora datasets synth`):

1. tempora, dataset form (optional, `--dataset-cmd`): the given command is run
   `--cold-runs` times "cold" (no feature cache) and once "warm" right after the
   last cold run. `{bin}`, `{dir}` and `{cache}` in the command are replaced by
   `--tempora`, the directory and a cache directory under `--cache-root`, e.g.
   `--dataset-cmd "{bin} features folder:{dir} --cache {cache}" --cache-root target/bench-cache`.
   Each cold run gets a cache directory never used before, and the old ones are
   deleted only after the timings: deleting thousands of cache files right before
   creating thousands measures the file system (ext4 without a journal scans the
   recently freed inodes on every create), not tempora. Before timing, every
   audio file is read once, so "cold" means no feature cache, not a cold disk
   (the files were just written by `tempora datasets synth` anyway). The cold
   figure printed is the median of the cold runs; all of them are listed.
2. tempora, one process per file (`--tempora BIN`): `BIN features FILE --out X.npy`
   over the files with `--jobs` workers; includes process start-up and the .npy write.
3. essentia (when importable): MonoLoader(44.1 kHz) -> FrameGenerator(2048, 1024)
   -> Windowing(blackmanharris62) -> Spectrum -> MelBands(40) -> log10(1 + 1e4 x),
   the reference implementation's chain, in `--jobs` processes.
4. librosa (when importable): soundfile decode, mono mean, soxr resampling when
   needed, melspectrogram(n_fft=2048, hop 1024, essentia's normalised Blackman-Harris
   62 dB window, centre zero padding, power 2, 40 HTK bands 0-22,050 Hz, unit-sum
   rows) -> log10(1 + 1e4 x), in `--jobs` processes.

For each it prints wall seconds, x real time (seconds of audio per second) and the
ratio to tempora's fastest run. With `--compare N` it also checks the first N
files' tempora .npy against essentia and librosa (max |difference| over the frames
both have: librosa centres frames like essentia but yields 1 + L // hop of them
instead of ceil(L / hop) + 1, one fewer unless L is a multiple of the hop).

Usage:
  python3 benches/bench_features.py DIR --tempora target/release/tempora \
      [--dataset-cmd "{bin} features folder:{dir} --cache {cache}"] [--jobs 2] \
      [--limit N] [--compare 5] [--no-essentia] [--no-librosa]
"""

import argparse
import concurrent.futures as cf
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUDIO_EXTENSIONS = {".wav", ".flac", ".mp3", ".ogg"}
SAMPLE_RATE = 44_100  # reference protocol: MonoLoader default
FRAME_SIZE = 2048  # reference protocol
HOP_SIZE = 1024  # reference protocol
MEL_BANDS = 40  # reference protocol
LOG_C = 10_000.0  # reference protocol: log10(1 + 10^4 x)
BH62 = (0.44959, 0.49364, 0.05677)  # Blackman-Harris 62 dB (essentia blackmanharris62)


def audio_files(directory, limit):
    files = sorted(p for p in Path(directory).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    return files[:limit] if limit else files


def audio_seconds(files):
    """Total duration; soundfile when available, else the wav header via `wave`."""
    try:
        import soundfile

        return sum(soundfile.info(str(f)).duration for f in files)
    except ImportError:
        import wave

        total = 0.0
        for f in files:
            with wave.open(str(f)) as w:
                total += w.getnframes() / w.getframerate()
        return total


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- tempora -----------------------------------------------------------------


def run_dataset_command(template, binary, directory, cache):
    cmd = [part.format(bin=binary, dir=directory, cache=cache) for part in shlex.split(template)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def read_all(files):
    """Reads every file once so that the timed runs find them in the page cache."""
    for path in files:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def tempora_per_file(binary, files, jobs, out_dir):
    def one(path):
        out = Path(out_dir) / (path.stem + ".npy")
        subprocess.run(
            [binary, "features", str(path), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not out.is_file():
            raise RuntimeError(f"{binary} features {path} exited 0 but wrote no {out}")

    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, files))


# --- references (run in worker processes) ------------------------------------


def essentia_features(path):
    import numpy as np
    import essentia.standard as es

    audio = es.MonoLoader(filename=str(path), sampleRate=SAMPLE_RATE)()
    window = es.Windowing(type="blackmanharris62")
    spectrum = es.Spectrum()
    mel = es.MelBands(numberBands=MEL_BANDS)
    frames = es.FrameGenerator(audio, frameSize=FRAME_SIZE, hopSize=HOP_SIZE)
    return np.array([np.log10(1.0 + LOG_C * mel(spectrum(window(f)))) for f in frames])


def librosa_window():
    import numpy as np

    n = np.arange(FRAME_SIZE)
    x = 2 * np.pi * n / (FRAME_SIZE - 1)
    w = BH62[0] - BH62[1] * np.cos(x) + BH62[2] * np.cos(2 * x)
    return 2.0 * w / np.abs(w).sum()


def librosa_features(path):
    import numpy as np
    import librosa
    import soundfile

    y, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if sr != SAMPLE_RATE:
        y = librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=SAMPLE_RATE,
        n_fft=FRAME_SIZE,
        hop_length=HOP_SIZE,
        window=librosa_window(),
        center=True,
        pad_mode="constant",
        power=2.0,
        n_mels=MEL_BANDS,
        fmin=0.0,
        fmax=SAMPLE_RATE / 2,
        htk=True,
        norm=1,
    )
    return np.log10(1.0 + LOG_C * mel).T


def reference_run(fn, files, jobs):
    with cf.ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(fn, files, chunksize=4))


def importable(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


# --- report ------------------------------------------------------------------


def compare(files, ours_dir, references):
    import numpy as np

    for path in files:
        ours = np.load(Path(ours_dir) / (path.stem + ".npy"))
        line = f"  {path.name}: tempora {ours.shape}"
        for name, fn in references:
            ref = fn(path)
            n = min(len(ref), len(ours))
            line += f"; {name} {ref.shape} max|diff| {np.abs(ours[:n] - ref[:n]).max():.2e}"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="directory of audio files (searched recursively)")
    parser.add_argument("--tempora", help="tempora binary: times `BIN features FILE --out X.npy` per file")
    parser.add_argument("--dataset-cmd", help="dataset command to time cold then warm; {bin}, {dir} substituted")
    parser.add_argument("--cache-root", default="target/bench-cache",
                        help="fresh cache directories ({cache}) are made under it; emptied at the end")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold dataset runs (median printed)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="parallel workers (default: all cores)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files")
    parser.add_argument("--compare", type=int, default=3, help="check this many files against the references")
    parser.add_argument("--no-essentia", action="store_true")
    parser.add_argument("--no-librosa", action="store_true")
    args = parser.parse_args()

    files = audio_files(args.dir, args.limit)
    if not files:
        sys.exit(f"no audio files under {args.dir}")
    seconds = audio_seconds(files)
    print(f"{len(files)} files, {seconds:.0f} s of audio, {args.jobs} workers\n")

    # (method, seconds, files, seconds of audio): the dataset command always
    # covers the whole directory, whatever --limit says.
    rows = []
    if args.dataset_cmd:
        binary = args.tempora or "tempora"
        every = audio_files(args.dir, 0)
        every_seconds = audio_seconds(every)
        read_all(every)
        root = Path(args.cache_root)
        root.mkdir(parents=True, exist_ok=True)
        cold, cache = [], None
        for _ in range(max(1, args.cold_runs)):
            cache = tempfile.mkdtemp(prefix="cold-", dir=root)
            cold.append(timed(lambda: run_dataset_command(args.dataset_cmd, binary, args.dir, cache)))
        warm = timed(lambda: run_dataset_command(args.dataset_cmd, binary, args.dir, cache))
        median = sorted(cold)[len(cold) // 2]
        runs = ", ".join(f"{t:.2f}" for t in cold)
        print(f"tempora dataset, cold runs: {runs} s (median {median:.2f} s)")
        rows.append((f"tempora dataset, cold ({len(every)} files)", median, len(every), every_seconds))
        rows.append((f"tempora dataset, warm ({len(every)} files)", warm, len(every), every_seconds))
        # Everything but the warm run's cache goes, now that the timings are done.
        for path in root.iterdir():
            if str(path) != cache:
                shutil.rmtree(path, ignore_errors=True)
    ours_dir = tempfile.mkdtemp(prefix="tempora-bench-")
    if args.tempora:
        t = timed(lambda: tempora_per_file(args.tempora, files, args.jobs, ours_dir))
        rows.append(("tempora, one process per file", t, len(files), seconds))
    references = []
    if not args.no_essentia and importable("essentia"):
        references.append(("essentia", essentia_features))
    if not args.no_librosa and importable("librosa") and importable("soundfile"):
        references.append(("librosa", librosa_features))
    for name, fn in references:
        rows.append((name, timed(lambda fn=fn: reference_run(fn, files, args.jobs)), len(files), seconds))
    skipped = {"essentia", "librosa"} - {name for name, _ in references}
    if skipped:
        print(f"(not timed, not importable or disabled: {', '.join(sorted(skipped))})")

    # Ratios compare time per file against tempora's fastest computing run
    # (a warm cache computes nothing, so it is not the reference).
    computing = [t / n for name, t, n, _ in rows if name.startswith("tempora") and "warm" not in name]
    tempora_best = min(computing, default=None)
    print(f"{'method':<38} {'seconds':>9} {'x real time':>12} {'ms/file':>9} {'vs tempora':>11}")
    for name, t, n, audio in rows:
        ratio = f"{(t / n) / tempora_best:10.1f}x" if tempora_best else "-"
        print(f"{name:<38} {t:9.2f} {audio / t:12.0f} {1000 * t / n:9.1f} {ratio:>11}")

    if args.tempora and references and args.compare:
        print(f"\nagreement on the first {args.compare} files (log-mel values, before normalisation):")
        compare(files[: args.compare], ours_dir, references)
    shutil.rmtree(ours_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
