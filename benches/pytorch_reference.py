#!/usr/bin/env python3
"""PyTorch reference for tempora's filter-bank networks.

Builds the network an `ArchConfig` (tempora's JSON serialisation) describes,
with the same semantics as `tempora::model::FilterBankNet`:

    per bank, per filter group: Conv2d(1 -> count, (height, width)), valid,
    + bias, ReLU, max-pool (frequency factor or all) x (time factor or all),
    non-overlapping, trailing remainder dropped; flatten(1) in
    (filter, pooled band, pooled frame) order; concatenate bank by bank,
    group by group; dense ReLU hidden layers; dropout; dense output (logits).

Two modes:

  parity  --arch A.json --weights W.safetensors --batch B.safetensors [--tol T]
      Loads tempora's exported weights (names and layouts below), runs the
      inputs stored in B ("input": [n, bands, frames]) in eval mode and
      compares with tempora's logits stored in B ("logits": [n, classes]).
      Prints one JSON line; exits 1 when the max abs difference exceeds T.

  package --package DIR --input X.input.safetensors [--threads T]
      Loads a model package written by `tempora export` (package.json: its
      "arch" and "weights"), runs the chunks that `tempora predict
      --save-inputs` stored ("input": [chunks, bands, frames]) in eval mode
      and prints one JSON line: the softmax per chunk and its mean over
      chunks (the recording's class probabilities, as `tempora predict`
      computes them).

  bench   --arch A.json [--batch-size 50] [--threads 2] [--device cpu|cuda]
          [--steps 20] [--warmup 3]
      Times full training steps (forward, mean cross-entropy, backward, SGD
      step) on random inputs; prints one JSON line with examples_per_second.

Weight names (tempora `train::export`, `model::net`):
  banks.{i}.groups.{j}.weight  [count, 1, height, width]  (= Conv2d.weight)
  banks.{i}.groups.{j}.bias    [count]
  hidden.{l}.weight, output.weight  [in, out]  (burn Linear: Linear.weight.T)
  hidden.{l}.bias, output.bias      [out]
"""

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


def pool_size(extent, length):
    """Kernel of one pooling axis: "all" or {"factor": f}."""
    if extent == "all":
        return length
    return extent["factor"]


class Net(nn.Module):
    """The network of one ArchConfig."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.banks = nn.ModuleList(
            nn.ModuleList(
                nn.Conv2d(1, g["count"], (g["height"], g["width"])) for g in bank["groups"]
            )
            for bank in arch["banks"]
        )
        width = feature_len(arch)
        self.hidden = nn.ModuleList()
        for h in arch["hidden"]:
            self.hidden.append(nn.Linear(width, h))
            width = h
        self.dropout = nn.Dropout(arch["dropout"])
        self.output = nn.Linear(width, arch["classes"])

    def forward(self, x):
        x = x.unsqueeze(1)  # [n, 1, bands, frames]
        features = []
        for convs, bank in zip(self.banks, self.arch["banks"]):
            for conv in convs:
                y = F.relu(conv(x))  # [n, count, bands', frames']
                kernel = (
                    pool_size(bank["pool_freq"], y.shape[2]),
                    pool_size(bank["pool_time"], y.shape[3]),
                )
                features.append(F.max_pool2d(y, kernel).flatten(1))
        h = torch.cat(features, 1)
        for layer in self.hidden:
            h = F.relu(layer(h))
        return self.output(self.dropout(h))


def feature_len(arch):
    """Length of the concatenated bank outputs (ArchConfig::feature_len)."""
    total = 0
    for bank in arch["banks"]:
        for g in bank["groups"]:
            bands = arch["bands"] - g["height"] + 1
            frames = arch["frames"] - g["width"] + 1
            pb = 1 if bank["pool_freq"] == "all" else bands // bank["pool_freq"]["factor"]
            pt = 1 if bank["pool_time"] == "all" else frames // bank["pool_time"]["factor"]
            total += g["count"] * pb * pt
    return total


def load_tempora_weights(net, path):
    """Copies tempora's safetensors into `net`; every tensor must be used."""
    from safetensors.torch import load_file

    stored = load_file(path)
    used = set()

    def take(name, target, transpose=False):
        value = stored[name]
        if transpose:
            value = value.t()
        if tuple(value.shape) != tuple(target.shape):
            sys.exit(f"{path}: {name} has shape {tuple(value.shape)}, expected {tuple(target.shape)}")
        with torch.no_grad():
            target.copy_(value)
        used.add(name)

    for i, convs in enumerate(net.banks):
        for j, conv in enumerate(convs):
            take(f"banks.{i}.groups.{j}.weight", conv.weight)
            take(f"banks.{i}.groups.{j}.bias", conv.bias)
    for l, layer in enumerate(net.hidden):
        take(f"hidden.{l}.weight", layer.weight, transpose=True)
        take(f"hidden.{l}.bias", layer.bias)
    take("output.weight", net.output.weight, transpose=True)
    take("output.bias", net.output.bias)
    unused = sorted(set(stored) - used)
    if unused:
        sys.exit(f"{path}: tensors not used by the PyTorch model: {unused}")


def parity(args):
    from safetensors.torch import load_file

    with open(args.arch) as f:
        arch = json.load(f)
    torch.set_num_threads(args.threads)
    net = Net(arch)
    load_tempora_weights(net, args.weights)
    net.eval()
    batch = load_file(args.batch)
    with torch.no_grad():
        ours = net(batch["input"].float())
    theirs = batch["logits"].float()
    diff = (ours - theirs).abs().max().item()
    scale = theirs.abs().max().item()
    print(json.dumps({"max_abs_diff": diff, "max_abs_logit": scale, "tolerance": args.tol}))
    return 0 if diff <= args.tol else 1


def package(args):
    import os

    from safetensors.torch import load_file

    with open(os.path.join(args.package, "package.json")) as f:
        manifest = json.load(f)
    torch.set_num_threads(args.threads)
    net = Net(manifest["arch"])
    load_tempora_weights(net, os.path.join(args.package, manifest["weights"]))
    net.eval()
    chunks = load_file(args.input)["input"].float()
    with torch.no_grad():
        chunk_probabilities = F.softmax(net(chunks).double(), dim=1)
    print(
        json.dumps(
            {
                "probabilities": chunk_probabilities.mean(dim=0).tolist(),
                "chunk_probabilities": chunk_probabilities.tolist(),
                "torch": torch.__version__,
            }
        )
    )
    return 0


def bench(args):
    with open(args.arch) as f:
        arch = json.load(f)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    # cuDNN picks its fastest algorithm for these fixed shapes (PyTorch at its best).
    torch.backends.cudnn.benchmark = device.type == "cuda"
    net = Net(arch).to(device)
    net.train()
    optim = torch.optim.SGD(net.parameters(), lr=0.01)
    x = torch.randn(args.batch_size, arch["bands"], arch["frames"], device=device)
    y = torch.randint(0, arch["classes"], (args.batch_size,), device=device)

    def step():
        optim.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optim.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    seconds = time.perf_counter() - started
    result = {
        "examples_per_second": args.steps * args.batch_size / seconds,
        "seconds_per_step": seconds / args.steps,
        "device": str(device),
        "threads": args.threads,
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        result["cudnn"] = torch.backends.cudnn.version()
        result["gpu"] = torch.cuda.get_device_name(device)
    print(json.dumps(result))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("parity", help="compare logits with tempora's")
    p.add_argument("--arch", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--batch", required=True)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--threads", type=int, default=1)
    k = sub.add_parser("package", help="class probabilities of a model package")
    k.add_argument("--package", required=True)
    k.add_argument("--input", required=True)
    k.add_argument("--threads", type=int, default=1)
    b = sub.add_parser("bench", help="time training steps")
    b.add_argument("--arch", required=True)
    b.add_argument("--batch-size", type=int, default=50)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--device", default="cpu")
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    return {"parity": parity, "package": package, "bench": bench}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
