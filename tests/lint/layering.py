#!/usr/bin/env python3
"""The include graph, checked: arrows point down only.

    runtime/   -> runtime only (its public headers, runtime/include/runtime/,
                  include nothing internal)
    bridge/    -> bridge, and the runtime's public headers
    c_api/     -> c_api, and the public headers of bridge and runtime
                  (gort.h itself includes nothing of the project)
    examples/, python/, tests/c_api/ -> gort.h only

Usage: layering.py [ROOT]        check the tree, print every offending line
       layering.py --self-test    check that a violation is caught
Exit status 1 if anything is wrong.
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCES = ('.c', '.cc', '.cpp', '.h', '.hpp')


def classify(root, path):
    """The layer part a project file belongs to, or None."""
    rel = os.path.relpath(path, root).replace(os.sep, '/')
    for layer in ('runtime', 'bridge'):
        if rel.startswith(layer + '/include/'):
            return layer + '-public'
        if rel.startswith(layer + '/'):
            return layer + '-internal'
    if rel.startswith('c_api/include/'):
        return 'c_api-public'
    if rel.startswith('c_api/'):
        return 'c_api-internal'
    for top in ('examples', 'python', 'tests', 'bench', 'docs'):
        if rel.startswith(top + '/'):
            return top
    return 'other'


# What each part of the tree may include (by the classes above).
RULES = [
    ('runtime/include/', {'runtime-public'}),
    ('runtime/', {'runtime-public', 'runtime-internal'}),
    ('bridge/include/', {'bridge-public', 'runtime-public'}),
    ('bridge/', {'bridge-public', 'bridge-internal', 'runtime-public'}),
    ('c_api/include/', {'c_api-public'}),
    ('c_api/', {'c_api-public', 'c_api-internal', 'bridge-public', 'runtime-public'}),
    ('examples/', {'c_api-public', 'examples'}),
    ('python/', {'c_api-public', 'python'}),
    ('tests/c_api/', {'c_api-public', 'tests'}),
]


def include_roots(root):
    return [root, os.path.join(root, 'runtime', 'include'),
            os.path.join(root, 'bridge', 'include'), os.path.join(root, 'c_api', 'include')]


def resolve(root, src, kind, name):
    """The project file an include names, or None (a system header).
    A header the build generates from NAME.in counts as that file."""
    candidates = []
    if kind == '"':
        candidates.append(os.path.join(os.path.dirname(src), name))
    roots = include_roots(root)
    candidates += [os.path.join(r, name) for r in (roots if kind == '"' else roots[1:])]
    for c in candidates:
        if os.path.isfile(c) or os.path.isfile(c + '.in'):
            return os.path.normpath(c)
    return None


def rule_for(rel):
    for prefix, allowed in RULES:
        if rel.startswith(prefix):
            return prefix, allowed
    return None, None


def check(root):
    errors = []
    for top in ('runtime', 'bridge', 'c_api', 'examples', 'python', 'tests/c_api'):
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(('build', '.'))]
            for fn in sorted(filenames):
                if not fn.endswith(SOURCES):
                    continue
                src = os.path.join(dirpath, fn)
                rel = os.path.relpath(src, root).replace(os.sep, '/')
                prefix, allowed = rule_for(rel)
                if allowed is None:
                    continue
                with open(src, encoding='utf-8', errors='replace') as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        kind, name = m.groups()
                        target = resolve(root, src, kind, name)
                        if target is None:
                            if kind == '"':
                                errors.append(f'{rel}:{lineno}: {line.strip()}: '
                                              'names no file of the project')
                            continue
                        cls = classify(root, target)
                        if cls not in allowed:
                            trel = os.path.relpath(target, root)
                            errors.append(f'{rel}:{lineno}: {line.strip()}: {prefix} may not '
                                          f'include {trel} ({cls})')
    return errors


def self_test():
    with tempfile.TemporaryDirectory() as d:
        def put(rel, text):
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'w') as f:
                f.write(text)
        put('runtime/proc.h', '#pragma once\n')
        put('runtime/include/runtime/runtime.h', '#pragma once\n')
        put('runtime/proc.cpp', '#include "runtime/proc.h"\n#include <vector>\n')
        put('bridge/ffi.cpp', '#include "runtime/runtime.h"\n#include "runtime/proc.h"\n')
        put('c_api/include/gort.h', '#include <stddef.h>\n')
        put('examples/app.c', '#include <gort.h>\n#include "runtime/runtime.h"\n')
        errors = check(d)
        want = ['bridge/ffi.cpp:2:', 'examples/app.c:2:']
        got = [e.split(' ')[0] for e in errors]
        if got != want:
            print('self-test failed: expected violations at', want, 'got', errors)
            return 1
        print('self-test ok: both violations caught')
        return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--self-test':
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..', '..'))
    errors = check(root)
    for e in errors:
        print(e)
    if errors:
        print(f'layering: {len(errors)} include(s) point the wrong way')
        return 1
    print('layering ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
