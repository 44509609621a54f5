#!/usr/bin/python3
"""Python's inter-process queues measured the way QueueBenchmark measures SimpleQueue.

A ping-pong between this process and a child over two queues; each round trip is timed and half of it counts as
one put-to-get latency. After a warm-up, 5 runs are timed and the median over all messages is printed, one JSON
object per line: {"bench": "queue", "case": "python-...", "medianMicros": ...}, as QueueBenchmark prints.

Cases: a small object (an int) through multiprocessing.SimpleQueue and torch.multiprocessing.Queue; a 1 KB
float32 tensor through both (SimpleQueue pickles a copy; torch's Queue moves the storage to shared memory on every
put); a 64 MB tensor already in shared memory (share_memory_()) through torch.multiprocessing.Queue, which sends
a handle (the analogue of a Tessera stub). Run: /usr/bin/python3 queue/bench/python_queue_baseline.py [--quick]
"""
import json
import statistics
import sys
import time

import multiprocessing as mp

RUNS = 5


def echo(inq, outq):
    while True:
        m = inq.get()
        if isinstance(m, str) and m == "stop":
            break
        outq.put(m)
        del m


def latency(name, ctx, make_queue, message, count):
    ping, back = make_queue(ctx), make_queue(ctx)
    peer = ctx.Process(target=echo, args=(ping, back))
    peer.start()
    try:
        def round_trips(n):
            out = []
            for _ in range(n):
                start = time.perf_counter_ns()
                ping.put(message)
                reply = back.get()  # SimpleQueue.get has no timeout; the peer is joined with one
                out.append((time.perf_counter_ns() - start) / 2000.0)
                del reply
            return out

        round_trips(max(200, count // 2))
        micros = []
        for _ in range(RUNS):
            micros.extend(round_trips(count))
        ping.put("stop")
        peer.join(60)
    finally:
        if peer.is_alive():
            peer.kill()
            peer.join()
    print(json.dumps({"bench": "queue", "case": "python-" + name, "medianMicros": round(statistics.median(micros), 3)}),
          flush=True)


def main():
    quick = "--quick" in sys.argv
    scale = 10 if quick else 1
    import torch
    import torch.multiprocessing as tmp
    ctx = mp.get_context("fork")
    tctx = tmp.get_context("fork")
    simple = lambda c: c.SimpleQueue()
    tqueue = lambda c: c.Queue()
    latency("latency-small-object-mp-simplequeue", ctx, simple, 42, 20000 // scale)
    latency("latency-small-object-torch-queue", tctx, tqueue, 42, 20000 // scale)
    kb = torch.arange(256, dtype=torch.float32)
    latency("latency-1KB-tensor-mp-simplequeue", ctx, simple, kb, 5000 // scale)
    latency("latency-1KB-tensor-torch-queue", tctx, tqueue, kb, 2000 // scale)
    big = torch.zeros(16 << 20, dtype=torch.float32).share_memory_()
    latency("latency-64MB-shared-tensor-torch-queue", tctx, tqueue, big, 1000 // scale)


if __name__ == "__main__":
    main()
