#!/bin/sh
# Installs gort from a build tree into a scratch prefix, then builds the
# legacy C example against the installed tree both ways (CMake package and
# pkg-config one-liner) and runs both programs.
set -eu
build=$1
src=$2
tmp=$(mktemp -d /tmp/gort-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/gort.h"
ls "$tmp"/prefix/lib*/libgort.so.0 >/dev/null
ls "$tmp"/prefix/lib*/libgort.a >/dev/null

# 1. CMake: find_package(gort), target gort::gort.
cmake -S "$src/tests/c_api/consumer" -B "$tmp/consumer" -G Ninja \
    -DCMAKE_PREFIX_PATH="$tmp/prefix" -DLEGACY_APP_SOURCE="$src/examples/legacy_c/app.c" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/legacy_app" | tail -n 1

# 2. The one-liner.
pcdir=$(dirname "$(ls "$tmp"/prefix/lib*/pkgconfig/gort.pc)")
export PKG_CONFIG_PATH="$pcdir"
cc "$src/examples/legacy_c/app.c" -o "$tmp/app" $(pkg-config --cflags --libs gort)
"$tmp/app" | tail -n 1
echo "install ok"
