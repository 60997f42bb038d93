#!/usr/bin/env python3
# Start-up latency: the time from starting a server process to the first PING answered on its
# port, for cinnabar-server and redis-server side by side (each started N times on a fresh
# loopback port, persistence off, killed by its pid after the PONG). What a test suite that
# starts a server per class, or a script that starts one and connects, waits for.
#   bench/startup.py                              # the Release build, 20 starts each
#   bench/startup.py --cinnabar PATH --runs 50    # another binary (an installed tool)
import argparse
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CINNABAR = ROOT / "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_pong_ms(command, workdir):
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([*command, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return (time.perf_counter() - started) * 1000
            except OSError:
                time.sleep(0.001)
        raise RuntimeError(f"{command[0]} did not answer PING within 30 s")
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cinnabar", default=str(DEFAULT_CINNABAR))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[0]} (2 cores: numbers above 2 measure the scheduler)")
    with tempfile.TemporaryDirectory(prefix="cinnabar-startup-") as workdir:
        for name, command in (("cinnabar-server", [args.cinnabar]), ("redis-server", [args.redis])):
            ms = sorted(first_pong_ms(command, workdir) for _ in range(args.runs))
            print(f"{name}: first PING after {statistics.median(ms):.0f} ms median "
                  f"(min {ms[0]:.0f}, max {ms[-1]:.0f}, {args.runs} starts)")


if __name__ == "__main__":
    main()
