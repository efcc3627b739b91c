#!/usr/bin/python3
"""The seed's own pattern as a benchmark peer: Python cloudpickle + a Redis list.

The master pushes a cloudpickled command object onto a Redis list; worker
processes (seed_worker.py) BLPOP it, call main() and push the object's new
state back onto a reply list. Measures one-job-at-a-time latency (p50/p99) and
throughput with a fixed number of jobs in flight, for each worker count.

Run as a script (/usr/bin/python3 bench/seed_peer/seed_bench.py): the command
class must live in __main__ so cloudpickle ships it by value in every job.
"""
import argparse
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import cloudpickle
import redis

HERE = os.path.dirname(os.path.abspath(__file__))
REDIS_SERVER = "/usr/bin/redis-server"
JOB_QUEUE = "seed:jobs"
REPLY_LIST = "seed:replies"
REPLY_TIMEOUT_S = 10
STARTUP_TIMEOUT_S = 5
PR_SET_PDEATHSIG = 1


class TrivialCommand:
    """The trivial command job: a couple of fields, main() mutates them."""

    def __init__(self, xs):
        self.xs = xs
        self.total = 0.0

    def main(self):
        self.total = sum(self.xs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    # Runs in the child before exec: if the driver is SIGKILLed, its finally
    # blocks never run, so let the kernel stop redis and the workers instead.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv):
    # A new session keeps Ctrl-C away from the children (no worker tracebacks);
    # the driver's finally block stops them.
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=die_with_parent)


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def start_redis():
    port = free_port()
    proc = spawn([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                  "--save", "", "--appendonly", "no"])
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping()
            return proc, port
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop([proc])
                sys.exit(f"redis-server did not come up on port {port} "
                         f"(exit code {proc.returncode})")
            time.sleep(0.02)


class Master:
    def __init__(self, port, workers):
        # socket_timeout outlasts the server-side BLPOP timeout, so even a
        # wedged server cannot hang us.
        self.r = redis.Redis(host="127.0.0.1", port=port,
                             socket_timeout=REPLY_TIMEOUT_S + 5)
        self.workers = workers
        self.next_id = 0
        self.expected = {}  # job id -> total the reply must carry

    def submit(self):
        job_id, self.next_id = self.next_id, self.next_id + 1
        obj = TrivialCommand([random.random() for _ in range(3)])
        self.expected[job_id] = sum(obj.xs)
        self.r.rpush(JOB_QUEUE, cloudpickle.dumps((job_id, REPLY_LIST, obj)))

    def collect(self):
        popped = self.r.blpop([REPLY_LIST], timeout=REPLY_TIMEOUT_S)
        if popped is None:
            codes = [w.poll() for w in self.workers]
            raise RuntimeError(f"no reply within {REPLY_TIMEOUT_S}s "
                               f"({len(self.expected)} outstanding; worker exit codes {codes})")
        job_id, obj = cloudpickle.loads(popped[1])
        if job_id not in self.expected:
            raise RuntimeError(f"reply for unknown or already answered job {job_id}")
        if obj.total != self.expected.pop(job_id):
            raise RuntimeError(f"job {job_id}: total {obj.total} != sum of {obj.xs}")

    def check_drained(self):
        # A duplicate reply arriving after the last awaited one would otherwise go unseen.
        left = self.r.llen(REPLY_LIST) + self.r.llen(JOB_QUEUE)
        if self.expected or left:
            raise RuntimeError(f"{len(self.expected)} jobs unanswered, {left} stray messages")


def percentile(samples, p):
    # Nearest rank, as in bench/bench_stats.h, so figures compare with the C++ benches.
    s = sorted(samples)
    return s[min(int(p / 100 * (len(s) - 1) + 0.5), len(s) - 1)]


def measure_latency(m, warmup, jobs):
    samples = []
    for i in range(warmup + jobs):
        t0 = time.perf_counter()
        m.submit()
        m.collect()
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1e6)
    m.check_drained()
    return percentile(samples, 50), percentile(samples, 99)


def measure_throughput(m, jobs, in_flight):
    t0 = time.perf_counter()
    sent = min(in_flight, jobs)
    for _ in range(sent):
        m.submit()
    for _ in range(jobs):
        m.collect()
        if sent < jobs:  # refill the slot this reply freed
            m.submit()
            sent += 1
    elapsed = time.perf_counter() - t0
    m.check_drained()
    return jobs / elapsed


def run(port, n_workers, args):
    # Same interpreter as ours: a by-value class carries version-specific bytecode.
    workers = [spawn([sys.executable, os.path.join(HERE, "seed_worker.py"),
                      "--port", str(port), "--queue", JOB_QUEUE])
               for _ in range(n_workers)]
    try:
        m = Master(port, workers)
        p50, p99 = measure_latency(m, args.warmup, args.latency_jobs)
        jobs_per_s = measure_throughput(m, args.jobs, args.in_flight)
        return {"peer": "seed", "workers": n_workers, "p50_us": round(p50, 1),
                "p99_us": round(p99, 1), "jobs_per_s": round(jobs_per_s)}
    finally:
        stop(workers)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2",
                        help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--jobs", type=int, default=20000, help="throughput jobs")
    parser.add_argument("--latency-jobs", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--markdown", action="store_true",
                        help="one markdown table row per line, as bench/queue_scaling prints")
    parser.add_argument("--redis-port", type=int, default=0,
                        help="use the redis-server already on 127.0.0.1:PORT (default: start one)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    redis_proc, port = (None, args.redis_port) if args.redis_port else start_redis()
    try:
        if not args.json and not args.markdown:
            print(f"{'peer':<6}{'workers':>8}{'p50_us':>10}{'p99_us':>10}{'jobs/s':>10}")
        for n in counts:
            row = run(port, n, args)
            if args.json:
                print(json.dumps(row), flush=True)
            elif args.markdown:
                print(f"| seed (cloudpickle + Redis list), {n} worker(s) | {row['p50_us']:.0f} µs "
                      f"| {row['p99_us']:.0f} µs | | {row['jobs_per_s']}/s |", flush=True)
            else:
                print(f"{'seed':<6}{n:>8}{row['p50_us']:>10.1f}{row['p99_us']:>10.1f}"
                      f"{row['jobs_per_s']:>10}", flush=True)
    except (RuntimeError, redis.RedisError) as e:
        sys.exit(f"seed_bench: {e}")
    except KeyboardInterrupt:
        sys.exit("seed_bench: interrupted")
    finally:
        if redis_proc is not None:
            stop([redis_proc])


if __name__ == "__main__":
    main()
