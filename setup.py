"""Build hook for pip (see pyproject.toml): CMake builds libgort and the
extension gort._gort, and installs the self-contained package
(GORT_PYTHON_WHEEL=ON: libgort.so.0 next to the extension) into a staging
directory, copied into the wheel. Builds happen under build-pip/, never in
the project's build directories."""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_BASE = os.path.join("build-pip")


def project_version():
    with open(os.path.join(HERE, "CMakeLists.txt")) as f:
        return re.search(r"project\(gort VERSION ([0-9.]+)", f.read()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.path.abspath(os.path.join(self.build_temp, "cmake"))
        stage = os.path.abspath(os.path.join(self.build_temp, "stage"))
        configure = ["cmake", "-S", HERE, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                     "-DGORT_BUILD_TESTS=OFF", "-DGORT_BUILD_BENCH=OFF",
                     "-DGORT_BUILD_EXAMPLES=OFF", "-DGORT_PYTHON_WHEEL=ON",
                     f"-DPython3_EXECUTABLE={sys.executable}"]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        subprocess.check_call(configure)
        subprocess.check_call(["cmake", "--build", build, "--target", "gort_python"])
        shutil.rmtree(stage, ignore_errors=True)
        subprocess.check_call(["cmake", "--install", build, "--component", "python",
                               "--prefix", stage])
        dest = os.path.dirname(os.path.abspath(self.get_ext_fullpath(ext.name)))
        os.makedirs(dest, exist_ok=True)
        for name in os.listdir(os.path.join(stage, "gort")):
            shutil.copy2(os.path.join(stage, "gort", name), os.path.join(dest, name))


os.makedirs(os.path.join(HERE, BUILD_BASE), exist_ok=True)
setup(
    version=project_version(),
    ext_modules=[Extension("gort._gort", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": BUILD_BASE}, "egg_info": {"egg_base": BUILD_BASE}},
)
