#!/bin/sh
# libgort.so exports gort_* functions and nothing else.
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '{print $3}')
[ -n "$syms" ] || { echo "no exported symbols in $lib" >&2; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^gort_' || true)
if [ -n "$bad" ]; then
    echo "symbols other than gort_* exported from $lib:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
fi
for f in gort_init gort_shutdown gort_go gort_chan_make gort_select gort_callback gort_ffi_call; do
    printf '%s\n' "$syms" | grep -qx "$f" || { echo "$f not exported" >&2; exit 1; }
done
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libgort.so.0" ] || { echo "SONAME is '$soname', want libgort.so.0" >&2; exit 1; }
echo "exports ok: $(printf '%s\n' "$syms" | wc -l) gort_* symbols, SONAME $soname"
