"""A producer/consumer pipeline on gort: a producer, a pool of workers and
a collector, joined by channels, as one would write it in Go.

    producer --jobs--> N workers --results--> collector

The producer closes `jobs` when it is done; the workers stop when `jobs` is
drained; a WaitGroup tells when the last worker finished, and then `results`
is closed so the collector's loop ends.

Run from the build tree:  PYTHONPATH=build/python /usr/bin/python3 examples/python/pipeline.py
"""
import hashlib

import gort

N_JOBS, N_WORKERS = 2000, 8


def producer(jobs):
    for i in range(N_JOBS):
        jobs.send(i)
    jobs.close()


def worker(wid, jobs, results, wg):
    try:
        for i in jobs:  # ends when jobs is closed and drained
            digest = hashlib.sha256(str(i).encode()).hexdigest()
            results.send((wid, i, digest))
    finally:
        wg.done()


def collector(results):
    per_worker = {}
    total = 0
    for wid, i, _ in results:
        per_worker[wid] = per_worker.get(wid, 0) + 1
        total += i
    return total, per_worker


def main():
    jobs, results = gort.Chan(64), gort.Chan(64)
    wg = gort.WaitGroup()
    wg.add(N_WORKERS)
    for w in range(N_WORKERS):
        gort.go(worker, w, jobs, results, wg)
    gort.go(producer, jobs)
    col = gort.go(collector, results)
    wg.wait()
    results.close()
    total, per_worker = col.join()
    assert total == N_JOBS * (N_JOBS - 1) // 2
    print(f"pipeline: {N_JOBS} jobs through {N_WORKERS} workers, sum {total}")
    print("per worker:", " ".join(f"{w}:{n}" for w, n in sorted(per_worker.items())))
    s = gort.stats()
    print(f"scheduler: {s['maxprocs']} Ps, {s['ms_total']} Ms, "
          f"{s['goroutines_created']} goroutines created")


if __name__ == "__main__":
    main()
