#!/usr/bin/env bash
# The whole test suite: formatting, build (warnings are errors), unit, integration,
# differential and interop tests, the packages (the sample against the Cinnabar package, the
# cinnabar-server tool installed from its package), and the docs check when docs/render.sh exists.
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

# --- the packages as a user gets them: dotnet pack into artifacts/packages (gitignored), the
# sample test project built against the Cinnabar package (its results join the count below), and
# the cinnabar-server tool installed with --tool-path into a temp dir (nothing global), asked for
# --version and started for a PING with redis-cli.
step "packages: Cinnabar (sample tests) and the cinnabar-server tool"
packages_started=$SECONDS
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)"
packages="$PWD/artifacts/packages"
rm -rf "$packages"
if dotnet pack src/Cinnabar -c Release --no-build -o "$packages" -nologo -v quiet &&
   dotnet pack src/Cinnabar.Server -c Release --no-build -o "$packages" -nologo -v quiet; then
  # The sample restores into a folder of its own, emptied of Cinnabar first: the global cache
  # would keep serving the first package it saw of this version.
  rm -rf artifacts/sample-packages/cinnabar
  { dotnet restore samples/Cinnabar.Sample.Tests --packages artifacts/sample-packages -v quiet &&
    dotnet test samples/Cinnabar.Sample.Tests -c Release --no-restore -nologo \
      --logger "trx" --results-directory "$results"; } || failed_steps+=("sample")
  tool_dir="$(mktemp -d "${TMPDIR:-/tmp}/cinnabar-tool.XXXXXX")"
  if dotnet tool install cinnabar-server --version "$version" --tool-path "$tool_dir" --add-source "$packages" >/dev/null; then
    tool_version="$("$tool_dir/cinnabar-server" --version)"
    echo "$tool_version"
    [[ "$tool_version" == "Cinnabar server v=$version redis="* ]] || failed_steps+=("tool --version")
    # A port below the kernel's ephemeral range (32768+), where outgoing connections take theirs;
    # another process may still hold the one picked, so a server that cannot bind gets another.
    pong=""
    for _ in 1 2 3 4 5; do
      port=$((20000 + RANDOM % 12000))
      "$tool_dir/cinnabar-server" --port "$port" --bind 127.0.0.1 --save "" --dir "$tool_dir" >"$tool_dir/log" &
      tool_pid=$!
      for _ in $(seq 100); do
        pong="$(redis-cli -p "$port" ping 2>/dev/null)" && [ "$pong" = "PONG" ] && break
        kill -0 "$tool_pid" 2>/dev/null || break
        sleep 0.1
      done
      [ "$pong" = "PONG" ] && break
      kill "$tool_pid" 2>/dev/null; wait "$tool_pid" 2>/dev/null
      grep -q "Address already in use" "$tool_dir/log" || break
    done
    echo "cinnabar-server (tool) on port $port answered PING: ${pong:-nothing}"
    [ "$pong" = "PONG" ] || { cat "$tool_dir/log"; failed_steps+=("tool PING"); }
    kill "$tool_pid" 2>/dev/null; wait "$tool_pid" 2>/dev/null
  else
    failed_steps+=("tool install")
  fi
  rm -rf "$tool_dir"
else
  failed_steps+=("pack")
fi
echo "packages step: $((SECONDS - packages_started)) s"

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
