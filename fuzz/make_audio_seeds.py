#!/usr/bin/env python3
"""Writes the audio fuzz target's seed corpus (fuzz/corpus/audio/): tiny files
made here from a synthetic tone, so no recording is copied into the repository.
Each seed's first byte picks the extension the target claims (0 wav, 1 flac,
2 mp3, 3 ogg; see fuzz/harness.rs); the rest is the file.
Only the standard library: wav by `wave`, flac (verbatim subframes), mp3
(silent MPEG-1 layer III frames) and ogg (Vorbis headers) by hand."""
import math, os, struct, sys, wave, io, zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "audio")
WAV, FLAC, MP3, OGG = 0, 1, 2, 3

def tone(n, rate, ch=1, amp=0.5):
    return [[amp * math.sin(2 * math.pi * 440 * i / rate + c) for c in range(ch)] for i in range(n)]

def pcm_wav(rate, ch, width, n):
    buf = io.BytesIO()
    w = wave.open(buf, "wb")
    w.setnchannels(ch); w.setsampwidth(width); w.setframerate(rate)
    data = bytearray()
    for frame in tone(n, rate, ch):
        for s in frame:
            if width == 1:
                data += struct.pack("<B", int(128 + s * 127))
            elif width == 2:
                data += struct.pack("<h", int(s * 32767))
            elif width == 3:
                data += struct.pack("<i", int(s * 8388607))[:3]
            else:
                data += struct.pack("<i", int(s * 2147483647))
    w.writeframes(bytes(data)); w.close()
    return buf.getvalue()

def float_wav(rate, ch, n, special=None):
    data = bytearray()
    for frame in tone(n, rate, ch):
        for s in frame:
            data += struct.pack("<f", s)
    if special is not None:
        data[0:4] = struct.pack("<f", special)
    fmt = struct.pack("<HHIIHH", 3, ch, rate, rate * ch * 4, ch * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body

def crc8(data):
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c

def crc16(data):
    c = 0
    for b in data:
        c ^= b << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x8005) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
    return c

def flac(rate, n):
    """One frame of 16-bit mono, verbatim subframe."""
    samples = [int(f[0] * 32767) for f in tone(n, rate)]
    md5 = b"\0" * 16
    si = struct.pack(">HH", n, n) + (0).to_bytes(3, "big") + (0).to_bytes(3, "big")
    si += ((rate << 44) | (0 << 41) | (15 << 36) | n).to_bytes(8, "big") + md5
    head = b"fLaC" + bytes([0x80]) + len(si).to_bytes(3, "big") + si
    # frame header: sync, fixed blocksize; block size 0b0111 (8-bit n-1 at end),
    # rate from streaminfo (0000), mono (0000), 16 bit (100), reserved 0
    hdr = bytes([0xFF, 0xF8, 0x70, 0x08, 0x00, n - 1])
    hdr += bytes([crc8(hdr)])
    sub = bytes([0x02])  # verbatim, no wasted bits
    for s in samples:
        sub += struct.pack(">h", s)
    frame = hdr + sub
    frame += struct.pack(">H", crc16(frame))
    return head + frame

def mp3(frames, id3=0):
    hdr = bytes([0xFF, 0xFB, 0x90, 0x64])  # MPEG-1 layer III, 128 kb/s, 44.1 kHz
    frame = hdr + b"\0" * (417 - 4)
    tag = b""
    if id3:
        size = id3
        syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
        tag = b"ID3\x03\x00\x00" + syncsafe + b"\0" * size
    return tag + frame * frames

def ogg_page(serial, seq, packets, flags):
    segs = b""
    for p in packets:
        segs += bytes([255] * (len(p) // 255) + [len(p) % 255])
    page = b"OggS" + bytes([0, flags]) + struct.pack("<qIII", 0, serial, seq, 0) + bytes([len(segs)]) + segs + b"".join(packets)
    crc = 0
    for b in page:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return page[:22] + struct.pack("<I", crc) + page[26:]

def ogg_vorbis_headers():
    ident = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, 22050, 0, 64000, 0, 0xB8, 1)
    comment = b"\x03vorbis" + struct.pack("<I", 7) + b"tempora" + struct.pack("<I", 0) + b"\x01"
    return ogg_page(1, 0, [ident], 2) + ogg_page(1, 1, [comment], 0)

def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "seed-pcm16-mono.wav": (WAV, pcm_wav(22050, 1, 2, 2048)),
        "seed-pcm16-stereo-44k.wav": (WAV, pcm_wav(44100, 2, 2, 1024)),
        "seed-pcm8.wav": (WAV, pcm_wav(8000, 1, 1, 512)),
        "seed-pcm24.wav": (WAV, pcm_wav(16000, 1, 3, 512)),
        "seed-pcm32.wav": (WAV, pcm_wav(48000, 1, 4, 512)),
        "seed-float32.wav": (WAV, float_wav(22050, 1, 1024)),
        "seed-float32-nan.wav": (WAV, float_wav(22050, 1, 256, float("nan"))),
        "seed-float32-inf.wav": (WAV, float_wav(22050, 2, 256, float("inf"))),
        "seed-verbatim.flac": (FLAC, flac(22050, 200)),
        "seed-silent.mp3": (MP3, mp3(8)),
        "seed-id3.mp3": (MP3, mp3(4, id3=64)),
        "seed-vorbis-headers.ogg": (OGG, ogg_vorbis_headers()),
    }
    for name, (pick, data) in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes([pick]) + data)

if __name__ == "__main__":
    main()
