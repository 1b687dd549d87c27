#!/usr/bin/env python3
"""The textbook paging-policy simulator: the baseline of bench-policy.

Same trace as bench/policy.c (xorshift64, 90% from 256 hot pages of 4096,
512 frames), simulated with the usual list-based FIFO, LRU and OPT of a
course exercise.  Prints one JSON object: references/s and misses per
policy (OPT's next-use search is quadratic, so it runs on a twentieth of the
trace).  usage: policy_textbook.py [REFS]
"""
import json
import sys
import time

PAGES, HOT, FRAMES = 4096, 256, 512
MASK = (1 << 64) - 1


def trace(n):
    s = 88172645463325252
    out = []
    for _ in range(n):
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        out.append((s >> 8) % HOT if s % 10 else (s >> 8) % PAGES)
    return out


def fifo(refs):
    frames, misses = [], 0
    for p in refs:
        if p not in frames:
            misses += 1
            if len(frames) == FRAMES:
                frames.pop(0)
            frames.append(p)
    return misses


def lru(refs):
    frames, misses = [], 0
    for p in refs:
        if p in frames:
            frames.remove(p)
        else:
            misses += 1
            if len(frames) == FRAMES:
                frames.pop(0)
        frames.append(p)
    return misses


def opt(refs):
    frames, misses = [], 0
    for i, p in enumerate(refs):
        if p in frames:
            continue
        misses += 1
        if len(frames) == FRAMES:
            rest = refs[i + 1:]
            # farthest next use; never used again: the first loaded
            far = max(frames, key=lambda f: rest.index(f) if f in rest
                      else len(rest) + len(frames) - frames.index(f))
            frames.remove(far)
        frames.append(p)
    return misses


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    refs = trace(n)
    out = {"refs": n}
    for name, fn, part in (("fifo", fifo, 1), ("lru", lru, 1), ("opt", opt, 20)):
        r = refs[: n // part]
        t0 = time.perf_counter()
        misses = fn(r)
        out[name] = {"refs_per_s": round(len(r) / (time.perf_counter() - t0)),
                     "refs": len(r), "misses": misses}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
