"""Deep recursion in a goroutine gives RecursionError, never a segfault,
including recursion through C code (map, __init__), which uses far more C
stack per level (Python goroutine stacks reserve at least 1 MiB). Each case
runs in its own interpreter so that a crash fails only it."""
import pytest

from conftest import run_python

CASES = {
    "python": """
        def f(n): return f(n + 1)
        """,
    "map": """
        def f(n): return list(map(f, [n + 1]))
        """,
    "init": """
        class C:
            def __init__(self, n): self.c = C(n + 1)
        def f(n): return C(n)
        """,
    "repr": """
        def f(n):
            x = []
            for _ in range(100000): x = [x]
            return repr(x)
        """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recursion_error_not_segfault(case):
    code = CASES[case] + """
        import gort
        def run():
            try:
                f(0)
            except RecursionError:
                return "RecursionError"
            return "no error"
        gs = [gort.go(run) for _ in range(4)]
        print([g.join() for g in gs])
        print(gort.go(lambda: sum(range(10))).join())  # still fine afterwards
        """
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(["RecursionError"] * 4), "45"], r.stderr
