#!/usr/bin/env python3
# The connection storm (issue 17): N clients connect at once and each sends one PING, as after a
# failover when every client reconnects; the time until every PONG is back, for Cinnabar and
# redis-server side by side (interleaved rounds, ratio per round). Connections are opened
# non-blocking from one thread with selectors, so the client side is not what is measured.
#   bench/connstorm.py [--clients 10000] [--rounds 3]
import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind, port, workdir):
    exe = CINNABAR if kind == "cinnabar" else "redis-server"
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir,
            "--maxclients", "20000"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{kind} did not start")


def storm(port, clients):
    sel = selectors.DefaultSelector()
    t0 = time.perf_counter()
    socks = []
    for _ in range(clients):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE)
        socks.append(s)
    pending_write, done = set(socks), 0
    while done < clients:
        if time.perf_counter() - t0 > 120:
            sys.exit("storm timed out")
        for key, mask in sel.select(timeout=1):
            s = key.fileobj
            if mask & selectors.EVENT_WRITE and s in pending_write:
                try:
                    s.send(b"PING\r\n")
                except (BlockingIOError, ConnectionError):
                    continue
                pending_write.discard(s)
                sel.modify(s, selectors.EVENT_READ)
            elif mask & selectors.EVENT_READ:
                try:
                    data = s.recv(16)
                except BlockingIOError:
                    continue
                if data.startswith(b"+PONG"):
                    done += 1
                    sel.unregister(s)
    elapsed = time.perf_counter() - t0
    for s in socks:
        s.close()
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"| round | cinnabar s | redis s | ratio |\n|---|---|---|---|")
    for r in range(a.rounds):
        times = {}
        for kind in ("cinnabar", "redis"):
            port = free_port()
            with tempfile.TemporaryDirectory() as d:
                proc = start(kind, port, d)
                try:
                    times[kind] = storm(port, a.clients)
                finally:
                    proc.terminate()
                    proc.wait(timeout=20)
        print(f"| {r + 1} | {times['cinnabar']:.3f} | {times['redis']:.3f} | {times['cinnabar'] / times['redis']:.2f} |")


if __name__ == "__main__":
    main()
