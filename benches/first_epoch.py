#!/usr/bin/env python3
"""The first epoch of the paper's models under the reference protocol, in PyTorch.

A study of the early loss blow-up of the wide combinations (docs/first-epoch.md):
trains the paper's k× O-net + k× P-net networks for a few epochs exactly as the
reference implementation initialises and trains them, on features tempora wrote,
and prints each epoch's mean training loss and the first minibatches' losses.

  - Input: one `.npy` per song (frames × 40, `tempora features SONG --out F.npy`),
    normalised with ONE scalar mean and std over every value of every song;
    250-frame chunks at hop 250 ("reference" chunk policy), labels from the
    file name's class (`<...>_<Class>_<song>.npy`).
  - Initialisation as Lasagne: filters He uniform (gain 1, fan_in = 1 × width),
    dense layer Glorot uniform, biases zero (`--init lasagne`, the reference);
    `--init torch` keeps PyTorch's defaults for comparison.
  - Plain SGD, learning rate `--lr` (reference 0.01), minibatch 50, mean
    cross-entropy, dropout 0.5 before the output layer, chunks reshuffled each
    epoch, the last incomplete minibatch dropped.

Usage: first_epoch.py FEATURES_DIR [--k 1 2 4 8] [--epochs 3] [--lr 0.01]
                      [--init lasagne|torch] [--seed 11] [--threads 2]
Prints one JSON line per network.
"""

import argparse
import json
import math
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from pytorch_reference import Net  # noqa: E402

BANDS, FRAMES, CLASSES, BATCH = 40, 250, 8, 50


def paper_arch(k):
    """k× O-net + k× P-net (k = 0 and a bank left out give O-net or P-net alone)."""
    o = [{"height": 1, "width": w, "count": 5 * k} for w in range(6, 42, 5)]
    p = [{"height": 1, "width": 46 + 5 * f, "count": k} for f in range(35)]
    pool = {"pool_freq": {"factor": 4}, "pool_time": "all"}
    return {
        "bands": BANDS,
        "frames": FRAMES,
        "banks": [{"groups": o, **pool}, {"groups": p, **pool}],
        "hidden": [],
        "dropout": 0.5,
        "classes": CLASSES,
    }


def load(features_dir):
    songs = sorted(pathlib.Path(features_dir).glob("*.npy"))
    if not songs:
        sys.exit(f"{features_dir}: no .npy files (write them with `tempora features SONG --out F.npy`)")
    classes = sorted({s.stem.split("_")[-2] for s in songs})
    spectrograms = [np.load(s).astype(np.float64) for s in songs]
    values = np.concatenate([x.ravel() for x in spectrograms])
    mean, std = values.mean(), values.std()
    chunks, labels = [], []
    for song, x in zip(songs, spectrograms):
        x = (x - mean) / std
        last = (x.shape[0] - FRAMES) // FRAMES * FRAMES
        for start in range(0, last, FRAMES):
            chunks.append(x[start : start + FRAMES].T)  # bands × frames
            labels.append(classes.index(song.stem.split("_")[-2]))
    return torch.tensor(np.stack(chunks), dtype=torch.float32), torch.tensor(labels)


def lasagne_init(net):
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            fan_in = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
            bound = math.sqrt(3.0 / fan_in)
        elif isinstance(module, torch.nn.Linear):
            bound = math.sqrt(6.0 / (module.in_features + module.out_features))
        else:
            continue
        torch.nn.init.uniform_(module.weight, -bound, bound)
        torch.nn.init.zeros_(module.bias)


def train(arch, x, y, args):
    torch.manual_seed(args.seed)
    net = Net(arch)
    if args.init == "lasagne":
        lasagne_init(net)
    optim = torch.optim.SGD(net.parameters(), lr=args.lr)
    epochs, first_batches, largest_logit = [], [], 0.0
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(y))
        losses = []
        for b in range(len(y) // BATCH):
            idx = order[b * BATCH : (b + 1) * BATCH]
            logits = net(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(loss.item())
            if epoch == 0:
                largest_logit = max(largest_logit, logits.abs().max().item())
                if b < 8:
                    first_batches.append(round(loss.item(), 2))
        epochs.append(round(float(np.mean(losses)), 3))
    return {
        "params": sum(p.numel() for p in net.parameters()),
        "epoch_mean_loss": epochs,
        "first_minibatch_losses": first_batches,
        "largest_logit_epoch_1": round(largest_logit, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("features")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--init", choices=["lasagne", "torch"], default="lasagne")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load(args.features)
    for k in args.k:
        result = train(paper_arch(k), x, y, args)
        name = f"{k}x O-net + {k}x P-net" if k > 1 else "O-net + P-net"
        print(json.dumps({"model": name, "init": args.init, "lr": args.lr, "chunks": len(y), **result}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
