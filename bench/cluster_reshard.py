#!/usr/bin/env python3
# Live resharding time (issue 15): a 3-primary cluster of one server kind, 1000 slots holding
# N keys in all (N / 1000 per slot) on the first primary, then the wall time of
#   redis-cli --cluster reshard --cluster-from <first> --cluster-to <third> --cluster-slots 1000
# for Cinnabar and redis-server side by side (interleaved rounds, ratio per round). Every key is
# counted on the new owner afterwards.
#   bench/cluster_reshard.py [--keys 1000000] [--rounds 1] [--pipeline 10]
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tags_for_slots(slots):
    """A hash tag per slot: {tag} keys all land in that slot."""
    found, n = {}, 0
    while len(found) < len(slots):
        tag = f"t{n}".encode()
        slot = crc16(tag) & 16383
        if slot in slots and slot not in found:
            found[slot] = tag
        n += 1
    return found


def port_pair_free(port):
    for p in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def cluster_ports(count, start):
    ports, p = [], start
    while len(ports) < count:
        if port_pair_free(p):
            ports.append(p)
        p += 1
    return ports


def cli(port, *args, check=True):
    r = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=3600)
    if check and r.returncode != 0:
        sys.exit(f"redis-cli {' '.join(args)}: {r.stdout}{r.stderr}")
    return r.stdout.strip()


def start(kind, port, workdir):
    exe = CINNABAR if kind == "cinnabar" else "redis-server"
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir,
            "--cluster-enabled", "yes", "--cluster-node-timeout", "5000"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True).stdout.strip() == "PONG":
            return proc
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"{kind} did not start")


def wait_until(what, cond, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def populate(port, tags, per_slot):
    """SETs sent with redis-cli --pipe, a file of RESP commands."""
    value = b"x" * 16
    with tempfile.NamedTemporaryFile(delete=False) as f:
        for tag in tags.values():
            for j in range(per_slot):
                key = b"{" + tag + b"}:" + str(j).encode()
                f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
        path = f.name
    try:
        with open(path, "rb") as stdin:
            r = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=stdin, capture_output=True, text=True, timeout=600)
        if "errors: 0" not in r.stdout:
            sys.exit("populate failed: " + r.stdout + r.stderr)
    finally:
        os.unlink(path)


def round_of(kind, keys, pipeline, tags):
    work = tempfile.mkdtemp(prefix=f"reshard-{kind}-")
    ports = cluster_ports(3, 21000 if kind == "cinnabar" else 22000)
    procs = []
    try:
        for i, p in enumerate(ports):
            d = os.path.join(work, str(i))
            os.mkdir(d)
            procs.append(start(kind, p, d))
        cli(ports[0], "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes")
        for p in ports:
            wait_until("cluster ok", lambda p=p: "cluster_state:ok" in cli(p, "CLUSTER", "INFO"))
        wait_until("agreement", lambda: subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{ports[0]}"],
                                                      capture_output=True).returncode == 0)
        populate(ports[0], tags, keys // len(tags))
        loaded = int(cli(ports[0], "DBSIZE"))
        src, dst = cli(ports[0], "CLUSTER", "MYID"), cli(ports[2], "CLUSTER", "MYID")
        before = int(cli(ports[2], "DBSIZE"))
        t0 = time.perf_counter()
        cli(ports[0], "--cluster", "reshard", f"127.0.0.1:{ports[0]}", "--cluster-from", src, "--cluster-to", dst,
            "--cluster-slots", "1000", "--cluster-yes", "--cluster-pipeline", str(pipeline))
        elapsed = time.perf_counter() - t0
        moved = int(cli(ports[2], "DBSIZE")) - before
        if moved != keys or loaded != keys:
            sys.exit(f"{kind}: loaded {loaded}, moved {moved}, expected {keys}")
        return elapsed
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--pipeline", type=int, default=10, help="redis-cli --cluster-pipeline (keys per MIGRATE)")
    a = ap.parse_args()
    tags = tags_for_slots(set(range(1000)))
    print(f"reshard of 1000 slots holding {a.keys} keys, --cluster-pipeline {a.pipeline}")
    print("| round | cinnabar s | redis-server s | ratio (redis/cinnabar) |")
    print("| --- | --- | --- | --- |")
    for r in range(a.rounds):
        c = round_of("cinnabar", a.keys, a.pipeline, tags)
        s = round_of("redis", a.keys, a.pipeline, tags)
        print(f"| {r + 1} | {c:.1f} | {s:.1f} | {s / c:.2f} |", flush=True)


if __name__ == "__main__":
    main()
