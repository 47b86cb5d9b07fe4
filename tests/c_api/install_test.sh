#!/bin/sh
# Installs gort from a build tree into a scratch prefix, then builds the
# legacy C example against the installed tree both ways (CMake package and
# pkg-config one-liner) and runs both programs. The installed gort.pc must
# name the prefix actually installed to, with clean absolute paths (no `..`,
# no `//`), also when --prefix is given in an untidy spelling.
set -eu
build=$1
src=$2
tmp=$(mktemp -d /tmp/gort-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "install_test: $*" >&2
    exit 1
}

# check_pc <gort.pc> <expected prefix>: absolute, clean, and the prefix wanted.
# (sh has no local variables: this one's are named _pc_*.)
check_pc() {
    _pc_file=$1
    _pc_want=$2
    for _pc_var in prefix libdir includedir; do
        _pc_val=$(sed -n "s/^$_pc_var=//p" "$_pc_file")
        case $_pc_val in
            /*) ;;
            *) fail "$_pc_file: $_pc_var=$_pc_val is not absolute" ;;
        esac
        case $_pc_val in
            *//* | */../* | */.. | */./* | */. | */) fail "$_pc_file: $_pc_var=$_pc_val is not clean" ;;
        esac
        case $_pc_val in
            "$_pc_want" | "$_pc_want"/*) ;;
            *) fail "$_pc_file: $_pc_var=$_pc_val is not under the prefix installed to ($_pc_want)" ;;
        esac
    done
    _pc_libs=$(PKG_CONFIG_PATH=$(dirname "$_pc_file") pkg-config --libs gort)
    case $_pc_libs in
        *//* | *..*) fail "$_pc_file: pkg-config --libs gives untidy paths: $_pc_libs" ;;
    esac
    _pc_libdir=$(sed -n 's/^libdir=//p' "$_pc_file")
    case $_pc_libs in
        *"-Wl,-rpath,$_pc_libdir "* | *"-Wl,-rpath,$_pc_libdir") ;;
        *) fail "$_pc_file: no rpath to $_pc_libdir in: $_pc_libs" ;;
    esac
}

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/gort.h"
test -f "$tmp/prefix/include/gort_version.h"
ls "$tmp"/prefix/lib*/libgort.so.0 >/dev/null
ls "$tmp"/prefix/lib*/libgort.a >/dev/null
pc=$(ls "$tmp"/prefix/lib*/pkgconfig/gort.pc)
check_pc "$pc" "$tmp/prefix"

# The prefix given at install time wins, however it is spelled.
mkdir "$tmp/elsewhere"
cmake --install "$build" --prefix "$tmp/elsewhere/..//other/" >/dev/null
check_pc "$(ls "$tmp"/other/lib*/pkgconfig/gort.pc)" "$tmp/other"

# 1. CMake: find_package(gort), target gort::gort.
cmake -S "$src/tests/c_api/consumer" -B "$tmp/consumer" -G Ninja \
    -DCMAKE_PREFIX_PATH="$tmp/prefix" -DLEGACY_APP_SOURCE="$src/examples/legacy_c/app.c" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/legacy_app" | tail -n 1

# 2. The one-liner; the program finds libgort through the clean rpath.
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
# shellcheck disable=SC2046 # the flags are meant to split into words
cc "$src/examples/legacy_c/app.c" -o "$tmp/app" $(pkg-config --cflags --libs gort)
runpath=$(readelf -d "$tmp/app" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
libdir=$(dirname "$(ls "$tmp"/prefix/lib*/libgort.so.0)")
[ "$runpath" = "$libdir" ] || fail "the one-liner's program has rpath '$runpath', want '$libdir'"
env -u LD_LIBRARY_PATH "$tmp/app" | tail -n 1
echo "install ok"
