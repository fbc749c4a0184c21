# JAX peer of bench_melu's "MeLU step" (see bench/peers/README.md): jax.vmap of the per-task
# query loss over the meta-batch, jax.grad of their mean (through the inner loop for order 2,
# stop_gradient on the inner gradient for order 1), and one jax.jit of the whole meta-step
# including the Adam update (written here as torch.optim.Adam computes it), with the
# parameters and the Adam state donated.
# Usage: python melu_jax.py [--orders 1,2] [--steps 1,5] [--batch 32] [--threads T]
#        [--seconds S] [--repetitions R] | --check
# One JSON line per configuration on stdout.
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import functools
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import melu_common as common  # noqa: E402

VARIANTS = ("vmap-jit", "chunk", "epoch", "epoch-dp")


def split_params(params: dict, jnp, dtype) -> dict:
    """The flat torch-named parameters as {"emb": {field: table}, "head": {name: array}}."""
    return {"emb": {f: jnp.asarray(params[f"features.{f}.weight"], dtype) for f, _ in common.FIELDS},
            "head": {n: jnp.asarray(params[f"head.{n}"], dtype) for n, _ in common.HEAD}}


def flat_grads(tree: dict) -> dict:
    """The inverse naming of split_params (for comparisons with torch)."""
    out = {f"features.{f}.weight": v for f, v in tree["emb"].items()}
    out.update({f"head.{n}": v for n, v in tree["head"].items()})
    return out


def model_functions(jax, jnp):
    def features(emb, user, rate, genre, director, actor):
        n = rate.shape[-1]
        u = jnp.concatenate([emb["gender"][user[0]], emb["age"][user[1]],
                             emb["occupation"][user[2]], emb["zip"][user[3]]])
        u = jnp.broadcast_to(u, (n, u.shape[0]))
        i = jnp.concatenate([emb["rate"][rate], emb["genre"][genre].mean(-2),
                             emb["director"][director].mean(-2), emb["actor"][actor].mean(-2)], -1)
        return jnp.concatenate([u, i], -1)

    def head_forward(h, x):
        y = jax.nn.relu(x @ h["0.weight"].T + h["0.bias"])
        y = jax.nn.relu(y @ h["2.weight"].T + h["2.bias"])
        return (y @ h["4.weight"].T + h["4.bias"])[..., 0]

    def mse(pred, y):
        return jnp.mean((pred - y) ** 2)

    return features, head_forward, mse


def task_loss_fn(jax, jnp, order: int, steps: int, inner_lr=common.INNER_LR):
    """(params, task) -> the task's query loss after `steps` inner SGD steps on the head."""
    features, head_forward, mse = model_functions(jax, jnp)

    def task_loss(params, task):
        emb = params["emb"]
        xs = features(emb, task["user"], task["s_rate"], task["s_genre"], task["s_director"], task["s_actor"])
        xq = features(emb, task["user"], task["q_rate"], task["q_genre"], task["q_director"], task["q_actor"])
        fast = params["head"]
        for _ in range(steps):
            g = jax.grad(lambda h: mse(head_forward(h, xs), task["s_y"]))(fast)
            if order == 1:  # first-order MAML: the inner gradient is a constant
                g = jax.lax.stop_gradient(g)
            fast = jax.tree_util.tree_map(lambda w, d: w - inner_lr * d, fast, g)
        return mse(head_forward(fast, xq), task["q_y"])

    return task_loss


def meta_loss_fn(jax, jnp, order: int, steps: int, inner_lr=common.INNER_LR):
    """(params, batch) -> mean over the tasks of the query loss after `steps` inner steps."""
    task_loss = task_loss_fn(jax, jnp, order, steps, inner_lr)

    def meta_loss(params, batch):
        return jnp.mean(jax.vmap(task_loss, in_axes=(None, 0))(params, batch))

    return meta_loss


def chunked_meta_grad_fn(jax, jnp, order: int, steps: int, chunk: int, total: int,
                         inner_lr=common.INNER_LR):
    """(params, tasks) -> sum over `tasks` of grad(task loss) / `total`: a lax.scan over
    chunks of `chunk` tasks, each a vmap of `chunk` tasks, accumulating the meta-gradient
    (the per-task copies of the head stay chunk-sized instead of batch-sized)."""
    task_loss = task_loss_fn(jax, jnp, order, steps, inner_lr)

    def chunk_loss(params, tasks):
        return jnp.sum(jax.vmap(task_loss, in_axes=(None, 0))(params, tasks)) / total

    chunk_grad = jax.grad(chunk_loss)

    def meta_grad(params, tasks):
        n = jax.tree_util.tree_leaves(tasks)[0].shape[0]
        if n % chunk:
            raise ValueError(f"{n} tasks do not split into chunks of {chunk}")
        if n == chunk:
            return chunk_grad(params, tasks)
        chunks = jax.tree_util.tree_map(lambda a: a.reshape((n // chunk, chunk) + a.shape[1:]), tasks)

        def body(acc, c):
            return jax.tree_util.tree_map(jnp.add, acc, chunk_grad(params, c)), None

        first = chunk_grad(params, jax.tree_util.tree_map(lambda a: a[0], chunks))
        rest = jax.tree_util.tree_map(lambda a: a[1:], chunks)
        return jax.lax.scan(body, first, rest)[0]

    return meta_grad


def adam_init(jax, jnp, params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"m": zeros, "v": jax.tree_util.tree_map(jnp.zeros_like, params), "t": jnp.zeros((), jnp.int32)}


def adam_update(jax, jnp, params, grads, state, lr=common.META_LR, betas=common.ADAM_BETAS, eps=common.ADAM_EPS):
    """torch.optim.Adam's update (no weight decay, no amsgrad):
    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
    b1, b2 = betas
    t = state["t"] + 1
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    tf = t.astype(dtype)
    bc1 = 1 - b1 ** tf
    bc2_sqrt = jnp.sqrt(1 - b2 ** tf)
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    new = jax.tree_util.tree_map(lambda p, m, v: p - (lr / bc1) * m / (jnp.sqrt(v) / bc2_sqrt + eps),
                                 params, m, v)
    return new, {"m": m, "v": v, "t": t}


def make_meta_step(jax, jnp, order: int, steps: int):
    """The jitted meta-step (params, adam state, batch) -> (params, adam state), donating both."""
    meta_loss = meta_loss_fn(jax, jnp, order, steps)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def meta_step(params, opt_state, batch):
        grads = jax.grad(meta_loss)(params, batch)
        return adam_update(jax, jnp, params, grads, opt_state)

    return meta_step


def make_chunked_step(jax, jnp, order: int, steps: int, chunk: int, batch: int, inner_lr=common.INNER_LR):
    """The `chunk` variant's jitted meta-step: as make_meta_step, the meta-gradient
    accumulated over chunks of `chunk` tasks (chunked_meta_grad_fn)."""
    meta_grad = chunked_meta_grad_fn(jax, jnp, order, steps, chunk, batch, inner_lr)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def meta_step(params, opt_state, tasks):
        return adam_update(jax, jnp, params, meta_grad(params, tasks), opt_state)

    return meta_step


def make_epoch(jax, jnp, order: int, steps: int, chunk: int, batch: int, devices: int = 1,
               inner_lr=common.INNER_LR):
    """The `epoch` variants: one jitted call runs every meta-step of an epoch (lax.scan over
    the meta-batches, leaves [steps, batch, ...]), each the chunked meta-gradient and Adam, as
    metarec's fit() does. With `devices` > 1 (the `epoch-dp` variant), data parallelism: each
    of `devices` XLA CPU devices takes batch / devices tasks of every meta-batch (shard_map),
    the partial meta-gradients are summed (psum) and every device applies the same Adam step.
    Returns epoch(params, adam state, batches) -> (params, adam state) and
    place(params, adam state, batches) -> the same on the devices (replicated, split by task)."""
    from jax.sharding import NamedSharding, PartitionSpec as P
    if batch % devices:
        raise ValueError(f"a meta-batch of {batch} tasks does not split over {devices} devices")
    local = batch // devices
    chunk = min(chunk, local)
    meta_grad = chunked_meta_grad_fn(jax, jnp, order, steps, chunk, batch, inner_lr)

    def run(params, opt_state, batches):
        def body(carry, tasks):
            params, opt_state = carry
            grads = meta_grad(params, tasks)
            if devices > 1:
                grads = jax.lax.psum(grads, "d")
            return adam_update(jax, jnp, params, grads, opt_state), None
        return jax.lax.scan(body, (params, opt_state), batches)[0]

    if devices == 1:
        return jax.jit(run, donate_argnums=(0, 1)), lambda *tree: jax.device_put(tree)
    available = jax.devices()
    if len(available) < devices:
        raise RuntimeError(f"{devices} XLA devices asked, {len(available)} present "
                           f"(XLA_FLAGS=--xla_force_host_platform_device_count={devices})")
    mesh = jax.sharding.Mesh(available[:devices], ("d",))
    # check_vma=False: the gradient of the replicated parameters is the local one, summed by
    # the explicit psum (with check_vma=True, jax 0.10.2 gave a wrong sum here: --check)
    sharded = jax.shard_map(run, mesh=mesh, in_specs=(P(), P(), P(None, "d")), out_specs=(P(), P()),
                            check_vma=False)
    replicated, split = NamedSharding(mesh, P()), NamedSharding(mesh, P(None, "d"))

    def place(params, opt_state, batches):
        return jax.device_put((params, opt_state, batches), (replicated, replicated, split))
    return jax.jit(sharded, donate_argnums=(0, 1)), place


def to_jax(batch: dict, jnp, dtype) -> dict:
    return {k: jnp.asarray(v, dtype if k.endswith("_y") else jnp.int32) for k, v in batch.items()}


def stack_batches(batches: list, jnp) -> dict:
    """The meta-batches of an epoch as one tree, leaves [meta-steps, batch, ...]."""
    return {k: jnp.stack([b[k] for b in batches]) for k in batches[0]}


def make_step(variant: str, order: int, steps: int, batch: int, threads: int = 1, chunk: int = 8):
    import jax
    import jax.numpy as jnp
    dtype = jnp.float32
    tasks = common.make_tasks(max(common.POOL, batch))
    batches = [to_jax(b, jnp, dtype) for b in common.meta_batches(tasks, batch)]
    params = split_params(common.init_params(), jnp, dtype)
    state = {"params": params, "opt": adam_init(jax, jnp, params), "i": 0}

    if variant in ("epoch", "epoch-dp"):
        devices = threads if variant == "epoch-dp" else 1
        epoch, place = make_epoch(jax, jnp, order, steps, chunk, batch, devices)
        state["params"], state["opt"], stacked = place(state["params"], state["opt"], stack_batches(batches, jnp))

        def step():
            state["params"], state["opt"] = epoch(state["params"], state["opt"], stacked)
            jax.block_until_ready(state["params"])
        step.tasks = batch * len(batches)  # one call is a whole epoch
        return step

    batches = [jax.device_put(b) for b in batches]
    if variant == "chunk":
        meta_step = make_chunked_step(jax, jnp, order, steps, min(chunk, batch), batch)
    else:
        meta_step = make_meta_step(jax, jnp, order, steps)

    def step():
        b = batches[state["i"] % len(batches)]
        state["i"] += 1
        state["params"], state["opt"] = meta_step(state["params"], state["opt"], b)
        jax.block_until_ready(state["params"])
    return step


def main() -> int:
    args = common.parse_args("JAX peer of bench_melu's MeLU step", VARIANTS)
    devices = 1
    if "epoch-dp" in args.variant and args.threads > 1 and not args.check:
        # the XLA flags hold for the whole process: T single-threaded devices for epoch-dp
        # against one device with T intra-op threads for the others
        if len(args.variant) > 1:
            print("melu_jax.py: with --threads > 1, epoch-dp runs in a process of its own "
                  "(--variant epoch-dp)", file=sys.stderr)
            return 2
        devices = args.threads
    common.configure_threads(args.threads, warn=not args.check, xla_devices=2 if args.check else devices)
    if args.check:
        import melu_check
        return melu_check.main(compile=not args.no_compile_check)
    import jax
    failures = common.run_all("jax", jax.__version__, args, make_step)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
