# The "MeLU step" workload shared by the Python peers of bench/meta/bench_melu.cpp: sizes,
# synthetic tasks, initial parameters, command line, thread pinning and the timing loop.
# Standard library and numpy only; torch and jax are imported by the peers after
# configure_threads() has set the environment their thread pools read at start-up.
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

#: fields in concatenation order, with their vocabularies (users: 4 fields, items: 4)
FIELDS = (("gender", 2), ("age", 7), ("occupation", 21), ("zip", 3402),
          ("rate", 6), ("genre", 25), ("director", 2186), ("actor", 8030))
USER_FIELDS = ("gender", "age", "occupation", "zip")
#: multi-valued item fields (mean embedding bags) and their fixed bag sizes
BAGS = (("genre", 2), ("director", 2), ("actor", 4))
EMBED = 32
HIDDEN = 64
SHOTS = 10  # support and query items per task
INNER_LR = 5e-3
META_LR = 1e-4
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
POOL = 1024  # tasks generated once; the meta-batches cycle through them
#: head parameter names (torch.nn.Sequential naming), (out, in) weights as torch.nn.Linear
HEAD = (("0.weight", (HIDDEN, EMBED * len(FIELDS))), ("0.bias", (HIDDEN,)),
        ("2.weight", (HIDDEN, HIDDEN)), ("2.bias", (HIDDEN,)),
        ("4.weight", (1, HIDDEN)), ("4.bias", (1,)))
#: keys of one task (arrays with a leading task dimension in a meta-batch)
TASK_KEYS = ("user", "s_rate", "s_genre", "s_director", "s_actor", "s_y",
             "q_rate", "q_genre", "q_director", "q_actor", "q_y")


def make_tasks(count: int, seed: int = 2019, shots: int = SHOTS) -> dict:
    """`count` synthetic tasks as numpy arrays: int64 ids, float64 ratings in 1..5."""
    import numpy as np
    rng = np.random.default_rng(seed)
    vocab = dict(FIELDS)
    tasks = {"user": np.stack([rng.integers(0, vocab[f], count) for f in USER_FIELDS], axis=1)}
    for side in ("s", "q"):
        tasks[f"{side}_rate"] = rng.integers(0, vocab["rate"], (count, shots))
        for field, bag in BAGS:
            tasks[f"{side}_{field}"] = rng.integers(0, vocab[field], (count, shots, bag))
        tasks[f"{side}_y"] = rng.integers(1, 6, (count, shots)).astype(np.float64)
    return tasks


def meta_batches(tasks: dict, batch: int) -> list:
    """The pool cut into consecutive meta-batches of `batch` tasks (numpy slices)."""
    count = len(tasks["user"])
    return [{k: v[i:i + batch] for k, v in tasks.items()} for i in range(0, count - batch + 1, batch)]


def init_params(seed: int = 7) -> dict:
    """Initial parameters as float64 numpy arrays, keyed as the torch module names them:
    embeddings N(0, 1) like torch.nn.Embedding, Linear layers U(-1/sqrt(in), 1/sqrt(in))."""
    import numpy as np
    rng = np.random.default_rng(seed)
    params = {f"features.{f}.weight": rng.standard_normal((v, EMBED)) for f, v in FIELDS}
    for name, shape in HEAD:
        fan_in = shape[-1] if name.endswith("weight") else dict(HEAD)[name.replace("bias", "weight")][1]
        bound = 1.0 / fan_in ** 0.5
        params[f"head.{name}"] = rng.uniform(-bound, bound, shape)
    return params


def task_mflops(order: int, steps: int) -> float:
    """Matrix-product MFLOP of one task, counted as bench_melu counts them."""
    return (2.715 if order == 2 else 0.905) * steps + 1.233


def int_list(text: str) -> list:
    return [int(x) for x in text.replace(" ", ",").split(",") if x]


def parse_args(description: str, variants: tuple) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--variant", default=",".join(variants),
                   help=f"comma-separated subset of {','.join(variants)} (default: all)")
    p.add_argument("--orders", type=int_list, default=[1, 2], help="MAML orders, e.g. 1,2")
    p.add_argument("--steps", type=int_list, default=[1, 5], help="inner steps K, e.g. 1,5")
    p.add_argument("--batch", type=int_list, default=[32], help="meta-batch sizes, e.g. 32,256")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of this process (pin it to as many cores: taskset -c 0-(T-1))")
    p.add_argument("--seconds", type=float, default=2.0, help="minimum measured time per repetition")
    p.add_argument("--repetitions", type=int, default=3, help="timed repetitions; the median is reported")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls after the first (compiling) one")
    p.add_argument("--chunk", type=int, default=8,
                   help="tasks per vmap in the chunked variants (the meta-gradient is accumulated over chunks)")
    p.add_argument("--check", action="store_true",
                   help="instead of timing: compare the meta-gradients of the torch loop, torch.func "
                        "and JAX in float64 on a tiny problem, exit 1 if they differ")
    p.add_argument("--no-compile-check", action="store_true",
                   help="with --check: leave out the torch.compile comparison (about a minute)")
    args = p.parse_args()
    args.variant = [v for v in args.variant.split(",") if v]
    unknown = [v for v in args.variant if v not in variants]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; known: {variants}")
    return args


def configure_threads(threads: int, warn: bool = True, xla_devices: int = 1) -> None:
    """Thread counts for OpenMP/MKL/OpenBLAS (torch) and XLA (jax); call before importing them.
    `xla_devices` > 1: that many single-threaded XLA CPU devices (data parallelism) instead
    of one device with `threads` intra-op threads."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 or xla_devices > 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    if xla_devices > 1:  # the flag for older jax, the variable for newer (jax_num_cpu_devices)
        flags += f" --xla_force_host_platform_device_count={xla_devices}"
        os.environ["JAX_NUM_CPU_DEVICES"] = str(xla_devices)
    os.environ["XLA_FLAGS"] = flags.strip()
    try:
        cores = len(os.sched_getaffinity(0))
        if warn and cores != threads:
            print(f"melu peers: warning: {threads} thread(s) asked, process may run on {cores} core(s); "
                  f"pin it with taskset -c 0-{threads - 1}", file=sys.stderr)
    except AttributeError:
        pass


def measure(step, batch: int, seconds: float, repetitions: int, warmup: int) -> dict:
    """Times `step()` (one synchronous meta-step of `batch` tasks, or `step.tasks` tasks where
    one call runs several meta-steps): the first call alone (it compiles, where the variant
    compiles), `warmup` more untimed, then `repetitions` runs of at least `seconds` each;
    returns the median tasks per second and the details, among them tasks per CPU second of
    the process (all its threads), which a machine shared with other work disturbs less."""
    batch = getattr(step, "tasks", batch)
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    for _ in range(warmup):
        step()
    rates, cpu_rates = [], []
    for _ in range(repetitions):
        n = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        while True:
            step()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        rates.append(batch * n / elapsed)
        cpu_rates.append(batch * n / max(time.process_time() - cpu_start, 1e-9))
    return {"tasks_per_second": round(statistics.median(rates), 2),
            "repetitions": [round(r, 2) for r in rates], "first_step_seconds": round(first, 3),
            "tasks_per_cpu_second": round(statistics.median(cpu_rates), 2)}


def emit(record: dict) -> None:
    """One JSON line on stdout (the runner collects them into build/peers/peers.jsonl)."""
    print(json.dumps(record), flush=True)


def run_all(tool: str, version: str, args, build_step) -> int:
    """For every variant x order x K x batch: `build_step(variant, order, steps, batch,
    threads=, chunk=)` returns a synchronous step function; one JSON line each, "status": "ok"
    or "failed: reason"."""
    failures = 0
    for variant in args.variant:
        for batch in args.batch:
            for order in args.orders:
                for steps in args.steps:
                    record = {"tool": tool, "variant": variant, "version": version, "order": order,
                              "steps": steps, "batch": batch, "threads": args.threads}
                    try:
                        step = build_step(variant, order, steps, batch, threads=args.threads, chunk=args.chunk)
                        record.update(measure(step, batch, args.seconds, args.repetitions, args.warmup))
                        record["gflops"] = round(record["tasks_per_second"] * task_mflops(order, steps) * 1e-3, 3)
                        record["status"] = "ok"
                    except Exception as e:  # a failed variant is reported, the others still run
                        reason = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                        record.update({"tasks_per_second": None, "status": f"failed: {reason}"})
                        print(f"melu peers: {tool} {variant} order {order} K {steps} B {batch} failed: {reason}",
                              file=sys.stderr)
                        failures += 1
                    emit(record)
    return failures
