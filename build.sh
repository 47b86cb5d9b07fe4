#!/usr/bin/env bash
# gort's build entry point.
#
#   ./build.sh demo    install missing Debian packages (when root), build
#                      everything, run the demo (examples/legacy_c, then the
#                      Python pipeline examples/python/pipeline.py)
#   ./build.sh build   the same set-up, then build everything
#   ./build.sh test    the same set-up, build everything and run the whole
#                      test suite (C++, C, docs and Python)
#
# Environment: BUILD_DIR (default build, or build-<sanitizer>),
# GORT_SANITIZE ('' | thread | address), CMAKE_BUILD_TYPE (RelWithDebInfo),
# GORT_WERROR (ON in CI), CTEST_ARGS (extra ctest arguments).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

cmd=${1:-demo}
SAN=${GORT_SANITIZE:-}
BUILD_DIR=${BUILD_DIR:-build${SAN:+-$SAN}}
PACKAGES=(cmake ninja-build g++ gcc pkg-config libboost-context-dev libffi-dev
          pybind11-dev python3-dev python3-pytest libgtest-dev libbenchmark-dev
          # tooling: API reference, style and lint, libFuzzer, debugging and
          # stack walks, benchmark plots, Python packaging
          doxygen clang-format clang-tidy clang gdb libunwind-dev
          python3-matplotlib python3-venv python3-pip python3-setuptools python3-wheel)

ensure_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    if [[ $(id -u) -eq 0 ]]; then
        echo "build.sh: installing ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "build.sh: missing Debian packages: ${missing[*]}" >&2
        echo "          run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
}

# The Python module is built for /usr/bin/python3 (CMakeLists.txt picks it).
configure() {
    cmake -S . -B "$BUILD_DIR" -G Ninja \
        -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
        -DGORT_SANITIZE="$SAN" -DGORT_WERROR="${GORT_WERROR:-OFF}" >/dev/null
}

build() {
    echo "build.sh: building everything in $BUILD_DIR/" >&2
    cmake --build "$BUILD_DIR"
}

ensure_packages
case $cmd in
    build)
        configure
        build
        ;;
    demo)
        configure
        build
        echo "build.sh: running the demo: $BUILD_DIR/examples/legacy_c/legacy_app" >&2
        "$BUILD_DIR"/examples/legacy_c/legacy_app
        if [[ -d "$BUILD_DIR"/python/gort ]]; then  # the Python module was built
            echo "build.sh: running PYTHONPATH=$BUILD_DIR/python" \
                "/usr/bin/python3 examples/python/pipeline.py" >&2
            PYTHONPATH="$BUILD_DIR"/python /usr/bin/python3 examples/python/pipeline.py
        fi
        ;;
    test)
        configure
        build
        echo "build.sh: running the test suite (C++, C, docs, Python): ctest --test-dir $BUILD_DIR" >&2
        # shellcheck disable=SC2086
        ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 ${CTEST_ARGS:-}
        ;;
    *)
        echo "usage: $0 demo|test|build" >&2
        exit 2
        ;;
esac
