#!/bin/sh
# format.sh ROOT: every C and C++ source of the project is as clang-format
# (with the repository's .clang-format) would write it. Prints the
# offending lines and fails otherwise.
set -eu
root=$1
cd "$root"
if ! command -v clang-format >/dev/null; then
    echo "clang-format not found: apt-get install clang-format" >&2
    exit 77
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp')
else
    # (a folder missing from a partial copy is not an error)
    files=$(find runtime bridge c_api tests examples bench python docs \
        \( -name '*.c' -o -name '*.cpp' -o -name '*.h' \) 2>/dev/null || true)
fi
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
echo "format ok ($(echo "$files" | wc -w) files)"
