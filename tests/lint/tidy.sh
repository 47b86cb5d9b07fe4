#!/bin/sh
# tidy.sh ROOT BUILD_DIR: clang-tidy (the repository's .clang-tidy) over the
# library's sources, with the build's compile commands minus the flags
# clang does not know. Fails on any warning.
set -eu
root=$1
build=$2
if ! command -v clang-tidy >/dev/null || ! command -v run-clang-tidy >/dev/null; then
    echo "clang-tidy not found: apt-get install clang-tidy" >&2
    exit 77
fi
tmp=$(mktemp -d /tmp/gort-tidy.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sed -e 's/ -fno-gnu-unique//g' -e 's/ -fsanitize=[a-z,]*//g' \
    "$build/compile_commands.json" >"$tmp/compile_commands.json"
export TERM=dumb
files=$(cd "$root" && ls runtime/*.cpp bridge/*.cpp c_api/*.cpp | sed "s|^|$root/|")
# shellcheck disable=SC2086
run-clang-tidy -quiet -p "$tmp" $files 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$tmp/out" || true
if grep -E "(warning|error):" "$tmp/out" | grep -v "^[0-9]* warnings\? generated" >"$tmp/findings"; then
    cat "$tmp/findings"
    echo "clang-tidy: $(wc -l <"$tmp/findings") finding(s)"
    exit 1
fi
echo "clang-tidy ok ($(echo "$files" | wc -w) files)"
