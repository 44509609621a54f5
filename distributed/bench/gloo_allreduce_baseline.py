#!/usr/bin/env python3
"""torch.distributed gloo all_reduce on this host, the baseline of ./tessera bench dist.

Usage: gloo_allreduce_baseline.py --ranks N [--sizes 1024,1048576,67108864] [--quick]
Prints one JSON line per size: {"bench": "dist", "case": "all_reduce-gloo", "ranks", "bytes", "medianMicros"}.
Each rank times every call (after warm-up); the figure is rank 0's median, as in the Java rows.
"""
import argparse
import json
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def iterations(nbytes, quick):
    n = 2000 if nbytes <= 4096 else 200 if nbytes <= (1 << 20) * 4 else 10
    return max(3, n // 10) if quick else n


def run(rank, world, port, sizes, quick, queue):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=world)
    for nbytes in sizes:
        t = torch.ones(nbytes // 4, dtype=torch.float32)
        n = iterations(nbytes, quick)
        for _ in range(max(2, n // 4)):
            dist.all_reduce(t)
        times = []
        for _ in range(n):
            dist.barrier()
            start = time.perf_counter_ns()
            dist.all_reduce(t)
            times.append((time.perf_counter_ns() - start) / 1000.0)
        if rank == 0:
            queue.put({"bench": "dist", "case": "all_reduce-gloo", "ranks": world, "bytes": nbytes,
                       "medianMicros": round(statistics.median(times), 3)})
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ranks", type=int, required=True)
    p.add_argument("--sizes", default="1024,1048576,67108864")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=run, args=(r, a.ranks, port, sizes, a.quick, queue)) for r in range(a.ranks)]
    for pr in procs:
        pr.start()
    for _ in sizes:
        print(json.dumps(queue.get(timeout=600)), flush=True)
    for pr in procs:
        pr.join(60)


if __name__ == "__main__":
    main()
