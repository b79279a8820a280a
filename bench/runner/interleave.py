#!/usr/bin/env python3
"""interleave.py - medians of interleaved runs (see README.md).

    interleave.py WS ROUNDS OUT.md name=command [name=command ...]

Runs every command once per round in the workspace WS, in an order rotated each round, so
that a burst of load on a shared machine hits every column alike (hyperfine runs each
command's runs back to back). One warm-up round first. Writes a markdown table of median,
mean and min wall time plus median user+sys CPU time per column (children included), and
each column's median as a multiple of the first column's.
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def run(cmd, ws):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=True, cwd=ws, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ws, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cols = [a.split("=", 1) for a in sys.argv[4:]]
    walls = {n: [] for n, _ in cols}
    cpus = {n: [] for n, _ in cols}
    for r in range(rounds + 1):
        k = r % len(cols)
        for name, cmd in cols[k:] + cols[:k]:
            wall, cpu = run(cmd, ws)
            if r > 0:
                walls[name].append(wall)
                cpus[name].append(cpu)
    ref = statistics.median(walls[cols[0][0]])
    lines = [
        f"| column | runs | median ms | mean ms | min ms | median user+sys ms | x {cols[0][0]} (median) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, _ in cols:
        w = walls[name]
        lines.append(
            f"| {name} | {len(w)} | {statistics.median(w)*1e3:.1f} | {statistics.mean(w)*1e3:.1f} "
            f"| {min(w)*1e3:.1f} | {statistics.median(cpus[name])*1e3:.1f} "
            f"| {statistics.median(w)/ref:.2f} |")
    text = "\n".join(lines) + "\n"
    with open(out, "w") as f:
        f.write(f"loadavg: {os.getloadavg()[0]:.2f} (1 min, at the end)\n\n" + text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
