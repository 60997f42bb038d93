#!/usr/bin/env python3
"""Time of a full synchronization, Cinnabar vs redis-server, side by side.

For each server kind a primary is filled with DEBUG POPULATE (N keys of 10-byte values, plus
optionally a second dataset of hashes), a second server of the same kind is told REPLICAOF,
and the time from REPLICAOF until INFO master_link_status is up is measured (the snapshot,
the transfer and the replica's load). Rounds alternate Cinnabar and redis-server; the table
prints the median of each. Both use repl-diskless-sync yes with no delay, the replica
repl-diskless-load disabled (Redis's defaults but the delay).

Usage: bench/fullsync.py [--keys 1000000] [--rounds 3]
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=600).stdout.strip()


def info_field(port, field):
    for line in cli(port, "INFO", "replication").splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def start(kind, port, workdir):
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--dir", workdir, "--enable-debug-command", "yes", "--repl-diskless-sync", "yes",
              "--repl-diskless-sync-delay", "0"]
    exe = CINNABAR if kind == "cinnabar" else "redis-server"
    proc = subprocess.Popen([exe, *common], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        if cli(port, "PING") == "PONG":
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def one_round(kind, keys):
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        pport, rport = free_port(), free_port()
        primary = start(kind, pport, d1)
        replica = start(kind, rport, d2)
        try:
            cli(pport, "DEBUG", "POPULATE", str(keys))
            t0 = time.monotonic()
            cli(rport, "REPLICAOF", "127.0.0.1", str(pport))
            while info_field(rport, "master_link_status") != "up":
                time.sleep(0.01)
                if time.monotonic() - t0 > 600:
                    raise RuntimeError("sync did not finish")
            elapsed = time.monotonic() - t0
            dbsize = cli(rport, "DBSIZE")
            if dbsize != str(keys):
                raise RuntimeError(f"{kind}: replica has {dbsize} keys, expected {keys}")
            return elapsed
        finally:
            for p in (primary, replica):
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(CINNABAR):
        sys.exit("build first: dotnet build src/Cinnabar.Server -c Release")
    times = {"redis": [], "cinnabar": []}
    for r in range(args.rounds):
        for kind in ("redis", "cinnabar") if r % 2 == 0 else ("cinnabar", "redis"):
            t = one_round(kind, args.keys)
            times[kind].append(t)
            print(f"round {r + 1} {kind}: {t:.2f} s", flush=True)
    red, cin = statistics.median(times["redis"]), statistics.median(times["cinnabar"])
    print()
    print(f"| keys | redis-server s | cinnabar s | ratio (redis/cinnabar) |")
    print(f"| ---: | ---: | ---: | ---: |")
    print(f"| {args.keys} | {red:.2f} | {cin:.2f} | {red / cin:.2f} |")


if __name__ == "__main__":
    main()
