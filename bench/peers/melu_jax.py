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

VARIANTS = ("vmap-jit",)


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


def meta_loss_fn(jax, jnp, order: int, steps: int, inner_lr=common.INNER_LR):
    """(params, batch) -> mean over the tasks of the query loss after `steps` inner steps."""
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

    def meta_loss(params, batch):
        return jnp.mean(jax.vmap(task_loss, in_axes=(None, 0))(params, batch))

    return meta_loss


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


def to_jax(batch: dict, jnp, dtype) -> dict:
    return {k: jnp.asarray(v, dtype if k.endswith("_y") else jnp.int32) for k, v in batch.items()}


def make_step(variant: str, order: int, steps: int, batch: int):
    import jax
    import jax.numpy as jnp
    dtype = jnp.float32
    tasks = common.make_tasks(max(common.POOL, batch))
    batches = [jax.device_put(to_jax(b, jnp, dtype)) for b in common.meta_batches(tasks, batch)]
    params = split_params(common.init_params(), jnp, dtype)
    state = {"params": params, "opt": adam_init(jax, jnp, params), "i": 0}
    meta_step = make_meta_step(jax, jnp, order, steps)

    def step():
        b = batches[state["i"] % len(batches)]
        state["i"] += 1
        state["params"], state["opt"] = meta_step(state["params"], state["opt"], b)
        jax.block_until_ready(state["params"])
    return step


def main() -> int:
    args = common.parse_args("JAX peer of bench_melu's MeLU step", VARIANTS)
    common.configure_threads(args.threads, warn=not args.check)
    if args.check:
        import melu_check
        return melu_check.main(compile=not args.no_compile_check)
    import jax
    failures = common.run_all("jax", jax.__version__, args, make_step)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
