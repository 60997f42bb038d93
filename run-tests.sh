#!/usr/bin/env bash
# The whole test suite: formatting, build (warnings are errors), unit, integration,
# differential and interop tests. Installs redis-server/redis-tools (Debian) when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
  echo "Installing redis-server and redis-tools (Debian packages) for differential and interop tests..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi

echo "== dotnet format --verify-no-changes"
dotnet format Cinnabar.slnx --verify-no-changes

echo "== build"
dotnet build Cinnabar.slnx -c Release -nologo -v quiet

echo "== tests"
dotnet test Cinnabar.slnx -c Release --no-build -nologo
