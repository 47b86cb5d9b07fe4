"""Installing the package: cmake --install into Debian's layout (the
extension finds the installed libgort.so by rpath), and pip install
--no-build-isolation into a venv made with --system-site-packages
(offline: Debian's setuptools and wheel; CMake builds the extension)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import build_dir, source_dir

SMOKE = ("import gort, sys; ch = gort.Chan(); g = gort.go(ch.send, 41); "
         "print(ch.recv() + 1, g.join(), gort.__file__)")
SITE = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/dist-packages"


def clean_env(unsanitized=False, **extra):
    """The environment without the build tree's paths; unsanitized: also
    without the sanitizer runtime a sanitizer build's tests preload (pip
    builds a plain copy)."""
    drop = {"PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONHOME"}
    if unsanitized:
        drop |= {"LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="gort-pyinstall.")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_debian_layout_is_on_sys_path():
    # The default prefix, /usr/local, is where Debian's python3 looks.
    r = subprocess.run([sys.executable, "-c", "import sys; print(sys.path)"],
                       capture_output=True, text=True, env=clean_env(), check=True)
    assert f"/usr/local/{SITE}" in r.stdout


def test_cmake_install(tmp):
    prefix = os.path.join(tmp, "prefix")
    subprocess.run(["cmake", "--install", build_dir(), "--prefix", prefix], check=True,
                   capture_output=True)
    pkg = os.path.join(prefix, SITE, "gort")
    for f in ("__init__.py", "ffi.py", "trace.py"):
        assert os.path.isfile(os.path.join(pkg, f))
    ext = [f for f in os.listdir(pkg) if f.startswith("_gort.") and f.endswith(".so")]
    assert len(ext) == 1
    # The extension links the installed libgort.so.0, found by its RUNPATH.
    # (ldd without a preloaded sanitizer runtime: the loader's trace mode
    # crashes in it)
    ldd = subprocess.run(["ldd", os.path.join(pkg, ext[0])], capture_output=True, text=True,
                         env=clean_env(unsanitized=True), check=True).stdout
    line = [ln for ln in ldd.splitlines() if "libgort.so" in ln]
    assert line and os.path.realpath(prefix) in os.path.realpath(line[0].split("=>")[1].split()[0])
    r = subprocess.run([sys.executable, "-c", SMOKE], capture_output=True, text=True,
                       env=clean_env(PYTHONPATH=os.path.join(prefix, SITE)), timeout=60)
    assert r.returncode == 0, r.stderr
    answer, joined, where = r.stdout.split()
    assert (answer, joined) == ("42", "None")
    assert where.startswith(pkg)


def copy_source(dst):
    """The source tree without build trees, VCS data or caches."""
    src = source_dir()

    def ignore(d, names):
        top = os.path.realpath(d) == os.path.realpath(src)
        return [n for n in names if n in (".git", "__pycache__") or n.endswith(".egg-info")
                or (top and (n.startswith("build") or n.startswith("install")))]

    shutil.copytree(src, dst, ignore=ignore, symlinks=True)


def test_pip_install_into_venv(tmp):
    src = os.path.join(tmp, "src")
    copy_source(src)
    venv = os.path.join(tmp, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True,
                   env=clean_env(unsanitized=True))
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip"]
    r = subprocess.run(pip + ["install", "--no-build-isolation", "--no-index", "-q", src],
                       capture_output=True, text=True,
                       env=clean_env(unsanitized=True, PIP_NO_CACHE_DIR="1"),
                       timeout=900, cwd=tmp)
    assert r.returncode == 0, r.stdout + r.stderr
    # Nothing was written into the source tree outside build-pip/.
    assert not os.path.exists(os.path.join(src, "build"))
    r = subprocess.run([os.path.join(venv, "bin", "python"), "-c", SMOKE], capture_output=True,
                       text=True, env=clean_env(unsanitized=True), timeout=60, cwd=tmp)
    assert r.returncode == 0, r.stderr
    answer, joined, where = r.stdout.split()
    assert (answer, joined) == ("42", "None")
    assert where.startswith(os.path.join(venv, "lib"))
