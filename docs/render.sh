#!/usr/bin/env bash
# Renders every docs/**/*.d2 diagram to an .svg next to it with the D2 compiler's WebAssembly
# build (@terrastruct/d2, pinned in docs/tools/package-lock.json and installed there with
# `npm ci` on first use; no global install, no Go toolchain).
#   docs/render.sh           render in place (commit the .svg files)
#   docs/render.sh --check   render into a temp dir only; exit 1 naming each diagram that fails
set -euo pipefail

docs="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$docs/tools"
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: docs/render.sh [--check]" >&2; exit 2 ;;
esac

command -v node >/dev/null || { echo "docs/render.sh: node is required" >&2; exit 1; }
if [ ! -f "$tools/node_modules/@terrastruct/d2/package.json" ]; then
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

mapfile -t diagrams < <(cd "$docs" && find . -name node_modules -prune -o -name '*.d2' -print | sed 's|^\./||' | sort)
if [ "${#diagrams[@]}" -eq 0 ]; then
  echo "docs/render.sh: no .d2 files under $docs" >&2
  exit 1
fi

out="$docs"
if [ "$check" -eq 1 ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi

cd "$docs"
if node "$tools/render-d2.mjs" --root "$docs" --out "$out" "${diagrams[@]}"; then
  [ "$check" -eq 1 ] && echo "docs/render.sh: ${#diagrams[@]} diagrams compile"
  exit 0
fi
echo "docs/render.sh: some diagrams failed to compile (see above)" >&2
exit 1
