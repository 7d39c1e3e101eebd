"""Time the core's training loop against a hand-written PyTorch loop, in the same process.

Same model (MLP 64-256-256-10), data (in-memory tensors), optimiser (Adam), batch size (128) and
number of steps. The per-step cost of each is measured as (time for N steps - time for N0 steps)
/ (N - N0), so set-up (building data, the accelerator, the run directory) is excluded; the
printed ratio is the median over interleaved repeats. Target: <= 1.05 on the CPU.

    python benchmarks/loop_overhead.py [--steps 2000] [--repeats 5] [--device cpu|cuda]
    python benchmarks/loop_overhead.py --list-timing     # `latentzoo list` wall time
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from latentzoo.config import structure
from latentzoo.experiment import Experiment
from latentzoo.runner import run_experiment

HIDDEN = [256, 256]


def digits_tensors(device):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (torch.tensor(bunch.data / 16.0, dtype=torch.float32, device=device),
            torch.tensor(bunch.target, device=device))


def raw_loop(steps: int, batch_size: int, device: str, mixed_precision: str) -> float:
    x, y = digits_tensors(device)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype = torch.bfloat16 if mixed_precision == "bf16" else None
    generator = torch.Generator().manual_seed(0)
    permutation, position = torch.randperm(len(x), generator=generator).to(device), 0
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        if position + batch_size > len(x):
            permutation, position = torch.randperm(len(x), generator=generator).to(device), 0
        index = permutation[position: position + batch_size]
        position += batch_size
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    sync(device)
    return time.perf_counter() - start


def core_loop(steps: int, batch_size: int, device: str, mixed_precision: str) -> float:
    experiment = structure({"name": "bench", "stages": [{
        "kind": "train", "name": "net", "data": {"name": "builtin.digits", "test_fraction": 0.01},
        "model": {"name": "builtin.mlp", "hidden": HIDDEN}, "loss": "builtin.cross_entropy",
        "steps": steps, "batch_size": batch_size, "optimizer": {"name": "adam", "lr": 1e-3},
        "mixed_precision": mixed_precision, "log_every": 50}]}, Experiment)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_experiment(experiment, Path(folder) / "run", cpu=device == "cpu")
        sync(device)
        return time.perf_counter() - start


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def per_step(fn, steps: int, base: int, **kw) -> float:
    return (fn(steps, **kw) - fn(base, **kw)) / (steps - base)


def list_timing(repeats: int) -> None:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "latentzoo.cli", "list"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    count = subprocess.run([sys.executable, "-m", "latentzoo.cli", "plugins", "--json"], check=True,
                           capture_output=True, text=True).stdout.count('"distribution"')
    print(f"latentzoo list: median {statistics.median(times):.3f} s wall over {repeats} runs "
          f"({count} plugins loaded); target < 0.5 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--base-steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--mixed-precision", default="no", choices=("no", "bf16"))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--list-timing", action="store_true")
    args = parser.parse_args()
    if args.list_timing:
        list_timing(args.repeats)
        return
    torch.set_num_threads(args.threads)
    kw = {"batch_size": args.batch_size, "device": args.device, "mixed_precision": args.mixed_precision}
    per_step(raw_loop, 50, 10, **kw)  # warm-up
    per_step(core_loop, 50, 10, **kw)
    ratios, raws, cores = [], [], []
    for repeat in range(args.repeats):
        raw = per_step(raw_loop, args.steps, args.base_steps, **kw)
        core = per_step(core_loop, args.steps, args.base_steps, **kw)
        raws.append(raw)
        cores.append(core)
        ratios.append(core / raw)
        print(f"repeat {repeat}: raw {raw * 1e6:.0f} us/step, core {core * 1e6:.0f} us/step, "
              f"ratio {core / raw:.3f}", flush=True)
    print(f"median per step: raw {statistics.median(raws) * 1e6:.0f} us, core "
          f"{statistics.median(cores) * 1e6:.0f} us; median ratio {statistics.median(ratios):.3f} "
          f"(target <= 1.05) on {args.device}, batch {args.batch_size}, {args.threads} thread(s)")


if __name__ == "__main__":
    main()
