#!/usr/bin/env bash
# The whole test suite: formatting, build (warnings are errors), unit, integration,
# differential and interop tests, and the docs check when docs/render.sh exists.
# Installs redis-server/redis-tools/redis-sentinel (Debian packages: the oracle, redis-cli,
# redis-benchmark, redis-check-rdb, and redis-sentinel for the mixed Sentinel quorum) when any is missing. Ends with one line
# "N passed, N failed, N skipped" and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

failed_steps=()
step() { echo; echo "== $*"; }

# --- tools: the oracle and the interop tools come from Debian's packages.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v redis-check-rdb >/dev/null || ! command -v redis-check-aof >/dev/null || ! command -v redis-sentinel >/dev/null; then
  step "installing redis-server, redis-tools and redis-sentinel (Debian packages)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo -n"; else SUDO="unavailable"; fi
  fi
  if [ "$SUDO" = "unavailable" ]; then
    echo "cannot install (not root, no sudo): differential and interop tests will be skipped (or fail under CI=true)"
  elif ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools redis-sentinel >/dev/null; }; then
    echo "installing redis-server/redis-tools/redis-sentinel failed"
    failed_steps+=("install redis")
  fi
fi

step "dotnet format --verify-no-changes"
dotnet format Cinnabar.slnx --verify-no-changes || failed_steps+=("format")

step "build (Release, warnings as errors)"
if ! dotnet build Cinnabar.slnx -c Release -warnaserror -nologo -v quiet; then
  echo "build failed"
  echo "0 passed, 0 failed, 0 skipped"
  exit 1
fi

step "tests"
results="$(mktemp -d "${TMPDIR:-/tmp}/cinnabar-test-results.XXXXXX")"
trap 'rm -rf "$results"' EXIT
# A test that hangs for 5 minutes aborts the run (reported as failed) instead of hanging CI.
dotnet test Cinnabar.slnx -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 5m --blame-hang-dump-type none || failed_steps+=("tests")

if [ -x docs/render.sh ]; then
  step "docs/render.sh --check"
  docs/render.sh --check || failed_steps+=("docs")
fi

# --- summary from the TRX files: skipped tests are the ones not executed.
passed=0; failed=0; skipped=0; diffcmds=0
shopt -s nullglob
trx_files=("$results"/*.trx)
for trx in "${trx_files[@]}"; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  total=$(get total); executed=$(get executed)
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + total - executed))
  n=$(grep -o 'differential commands: [0-9]*' "$trx" | awk '{s += $3} END {print s + 0}')
  diffcmds=$((diffcmds + n))
done
if [ ${#trx_files[@]} -eq 0 ]; then
  echo "no test results were written"
  failed_steps+=("no test results")
fi

echo
echo "differential: $diffcmds commands compared against redis-server"
[ ${#failed_steps[@]} -gt 0 ] && echo "failed steps: ${failed_steps[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ ${#failed_steps[@]} -eq 0 ] && [ "$failed" -eq 0 ]
