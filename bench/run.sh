#!/usr/bin/env bash
# Side-by-side benchmark: Cinnabar vs redis-server 7.0 with redis-benchmark, interleaved
# A/B rounds, plus a memory row. Writes bench/results/<date>-<host>.{md,csv}.
# Usage: bench/run.sh [--rounds N] [--quick] [--rows SET,GET] [--no-memory] [--label NAME] [--plot CSV] [--summary CSV]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi
dotnet build "$here/../src/Cinnabar.Server" -c Release -nologo -v quiet >&2
exec python3 "$here/bench.py" "$@"
