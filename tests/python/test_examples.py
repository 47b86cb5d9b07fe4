"""The Python examples run and say what they did."""
import os
import subprocess
import sys

import pytest

from conftest import build_dir, source_dir

EXPECT = {
    "pipeline.py": "pipeline: 2000 jobs through 8 workers, sum 1999000",
    "thread_affine.py": "thread_affine: 3000 library calls, all on thread",
    "stats_monitor.py": "stats_monitor: 1170 messages",
}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example(name):
    env = dict(os.environ)
    lib = os.path.join(build_dir(), "examples", "python", "libgort_affine_demo.so")
    env["GORT_AFFINE_LIB"] = lib
    if name == "thread_affine.py" and not os.path.exists(lib):
        pytest.skip("examples not built (GORT_BUILD_EXAMPLES=OFF)")
    r = subprocess.run([sys.executable, os.path.join(source_dir(), "examples", "python", name)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert EXPECT[name] in r.stdout, r.stdout
