"""torch.multiprocessing baseline for `./tessera bench share` (stub mode).

The parent puts a shared-memory tensor (`share_memory_()`) on a queue and waits for a one-item
acknowledgement on a second queue; the worker process gets the tensor (torch rebuilds it from the shared
storage's handle), reads its first and last element, drops it and acknowledges. Median of several runs after a
warm-up; process start is excluded. Same sizes and the same work as the Java benchmark's stub mode.

    python torch_share_baseline.py [--sizes 1KB,1MB,64MB,1GB] [--queue queue|simple]
        [--strategy file_descriptor|file_system] [--runs 101] [--warmup 100]

Needs torch (the CPU build is enough). Prints one JSON object per size, like `--format json` of the Java side.
"""
import argparse
import json
import statistics
import time

import torch
import torch.multiprocessing as mp


def worker(q_in, q_out):
    while True:
        t = q_in.get()
        if t is None:
            return
        touched = int(t[0]) + int(t[-1])
        del t
        q_out.put(touched)


def median_micros(q_in, q_out, tensor, warmup, runs):
    for _ in range(warmup):
        q_in.put(tensor)
        q_out.get()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        q_in.put(tensor)
        q_out.get()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000.0


def parse_size(text):
    t = text.strip().upper()
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if t.endswith(unit):
            return int(t[: -len(unit)]) * factor
    return int(t.rstrip("B"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1KB,1MB,64MB,1GB")
    p.add_argument("--queue", choices=["queue", "simple"], default="queue")
    p.add_argument("--strategy", choices=["file_descriptor", "file_system"], default="file_descriptor")
    p.add_argument("--runs", type=int, default=101)
    p.add_argument("--warmup", type=int, default=100)
    args = p.parse_args()
    mp.set_sharing_strategy(args.strategy)
    ctx = mp.get_context("spawn")
    make = ctx.Queue if args.queue == "queue" else ctx.SimpleQueue
    q_in, q_out = make(), make()
    proc = ctx.Process(target=worker, args=(q_in, q_out), daemon=True)
    proc.start()
    try:
        for size in (parse_size(s) for s in args.sizes.split(",")):
            tensor = torch.ones(size, dtype=torch.uint8).share_memory_()
            micros = median_micros(q_in, q_out, tensor, args.warmup, args.runs)
            print(json.dumps({"bench": "share", "mode": "torch." + args.queue, "strategy": args.strategy,
                              "torch": torch.__version__, "bytes": size, "medianMicros": round(micros, 1)}),
                  flush=True)
            del tensor
    finally:
        q_in.put(None)
        proc.join(timeout=30)


if __name__ == "__main__":
    main()
