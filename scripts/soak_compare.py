#!/usr/bin/env python3
"""Compares two tempora caches entry by entry, file by file, ignoring only
wall-clock fields (see scripts/soak.sh). Exit 1 on any difference."""
import csv, io, json, os, sys
ref, soaked = sys.argv[1], sys.argv[2]
KINDS = ["features", "norm", "chunks", "train", "report"]

WALL_CLOCK = {"seconds", "wall_seconds", "started_unix"}
TIMED = {"test.json", "epochs.csv", "report_input.json"}

def strip(value):
    """Drops wall-clock fields at any depth of a JSON value."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value

def normalise(name, data):
    if name == "manifest.json":
        m = strip(json.loads(data))
        # Files holding wall-clock fields are compared field by field instead.
        for out in m["outputs"]:
            if os.path.basename(out["path"]) in TIMED:
                out.pop("bytes"); out.pop("blake3")
        return json.dumps(m, sort_keys=True).encode()
    if name.endswith(".json") and name in TIMED:
        return json.dumps(strip(json.loads(data)), sort_keys=True).encode()
    if name == "epochs.csv":
        rows = list(csv.reader(io.StringIO(data.decode())))
        return json.dumps([r[:-1] for r in rows]).encode()
    return data

entries = files = 0
bad = []
for kind in KINDS:
    a, b = os.path.join(ref, kind), os.path.join(soaked, kind)
    keys_a = sorted(os.listdir(a)) if os.path.isdir(a) else []
    keys_b = sorted(os.listdir(b)) if os.path.isdir(b) else []
    if keys_a != keys_b:
        bad.append(f"{kind}: entries differ ({len(keys_a)} vs {len(keys_b)})")
        continue
    for key in keys_a:
        entries += 1
        for dirpath, _, names in os.walk(os.path.join(a, key)):
            for name in names:
                pa = os.path.join(dirpath, name)
                pb = os.path.join(b, key, os.path.relpath(pa, os.path.join(a, key)))
                files += 1
                if not os.path.exists(pb):
                    bad.append(f"missing {pb}"); continue
                da, db = open(pa, "rb").read(), open(pb, "rb").read()
                if normalise(name, da) != normalise(name, db):
                    bad.append(f"differs: {kind}/{key[:12]}/{os.path.relpath(pa, os.path.join(a, key))}")
print(f"soak: compared {entries} entries, {files} files")
if bad:
    print("soak: FAILED\n  " + "\n  ".join(bad[:20]))
    sys.exit(1)
print("soak: identical to the uninterrupted run (wall-clock fields aside)")
