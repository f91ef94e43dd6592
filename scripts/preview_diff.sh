#!/usr/bin/env bash
# Preview every stack offline on the working tree and on a base commit, and print the unified
# diff of what they generate (resources.json and every file a container receives).
# Usage: scripts/preview_diff.sh <base-commit> [<stack>...]   (default: every Pulumi.<stack>.yaml;
#        PYTHON overrides the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  echo "usage: $0 <base-commit> [<stack>...]" >&2
  exit 2
fi
base_commit=$1
shift
stacks=("$@")
if [ ${#stacks[@]} -eq 0 ]; then
  for stack_file in Pulumi.*.yaml; do
    stack=${stack_file#Pulumi.}
    stacks+=("${stack%.yaml}")
  done
fi
root=$PWD
python=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --quiet --detach "$work/base" "$base_commit"
mkdir -p "$work/base/build"

for stack in "${stacks[@]}"; do
  "$python" -m preview "$stack" --out "$work/head" >/dev/null
  # The base commit runs its own code with this interpreter; a stack it cannot preview (new, or
  # broken there) shows up as entirely added.
  if ! (cd "$work/base" && "$python" -m preview "$stack" >/dev/null 2>&1); then
    echo "note: $base_commit cannot preview $stack; all of it shows as new" >&2
    mkdir -p "$work/base/build/$stack"
  fi
done

# diff exits 1 when the trees differ; only 2 and above is trouble.
status=0
# Paths read a/<stack>/... and b/<stack>/...; timestamps would only add noise.
(cd "$work" && diff -ruN base/build head) | sed \
  -e 's|^diff -ruN base/build/\([^ ]*\) head/.*|diff -ruN a/\1 b/\1|' \
  -e 's|^--- base/build/\([^\t]*\).*|--- a/\1|' \
  -e 's|^+++ head/\([^\t]*\).*|+++ b/\1|' ||
  status=$?
if [ "$status" -gt 1 ]; then
  exit "$status"
fi
