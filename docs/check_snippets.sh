#!/bin/sh
# check_snippets.sh <guide.md> <gort.h include dir> <C compiler> [<generated include dir>]
# Compiles every ```c block of the guide on its own (a translation unit,
# after snippet_prelude.h), with warnings as errors, so that the guide's
# examples stay correct C against gort.h. Fails naming the block's line.
set -eu
guide=$1
include=$2
cc=$3
gen=${4:-$include}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gort-snippets.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# One file per block, named by the line the block starts on.
awk -v dir="$tmp" -v guide="$guide" '
    /^```c[[:space:]]*$/ {
        inblock = 1; start = NR + 1; file = dir "/line" start ".c"
        printf "#line %d \"%s\"\n", start, guide > file   # errors name the guide line
        next
    }
    /^```/ && inblock { inblock = 0; close(file); next }
    inblock { print > file }
' "$guide"

n=0
failed=0
for f in "$tmp"/line*.c; do
    [ -e "$f" ] || break
    n=$((n + 1))
    line=$(basename "$f" .c | sed 's/^line//')
    if ! "$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only \
        -I"$include" -I"$gen" -include "$here/snippet_prelude.h" "$f" 2>"$tmp/err"; then
        echo "$guide:$line: this C snippet does not compile:" >&2
        cat "$tmp/err" >&2
        failed=$((failed + 1))
    fi
done
[ "$n" -gt 0 ] || { echo "$guide: no C snippets found" >&2; exit 1; }
[ "$failed" -eq 0 ] || exit 1
echo "$n C snippets compile"
