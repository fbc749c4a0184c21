# PyTorch peers of bench_melu's "MeLU step" (see bench/peers/README.md):
#  - loop:         per-task Python loop as learn2learn / the MeLU scripts write it
#                  (torch.autograd.grad over the head per task, functional forward with the
#                  adapted weights, backward of the mean query loss, torch.optim.Adam);
#  - func:         torch.func (functional_call + grad + vmap over the tasks), eager, and the
#                  fused CPU Adam (torch.optim.Adam(fused=True), faster here than the default
#                  and than a torch.compile'd Adam step);
#  - func-compile: the same meta-gradient function under torch.compile, the same fused Adam;
#  - func-chunk, func-compile-chunk: func / func-compile on chunks of --chunk tasks (default
#                  8), the meta-gradient accumulated over the chunks.
# Usage: python melu_torch.py [--variant loop,func,...] [--orders 1,2] [--steps 1,5]
#        [--batch 32] [--threads T] [--chunk 8] [--seconds S] [--repetitions R] | --check
# One JSON line per configuration on stdout.
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import melu_common as common  # noqa: E402

VARIANTS = ("loop", "func", "func-compile", "func-chunk", "func-compile-chunk")


def _torch():
    import torch
    return torch


class MeLU:
    """The model as torch modules: `features` (8 embeddings -> 256 features per item) and
    `head` (Linear 256-64, ReLU, Linear 64-64, ReLU, Linear 64-1)."""

    def __init__(self, params: dict, dtype):
        torch = _torch()
        nn = torch.nn

        class Features(nn.Module):
            def __init__(self):
                super().__init__()
                for field, vocab in common.FIELDS:
                    setattr(self, field, nn.Embedding(vocab, common.EMBED))

            def forward(self, user, rate, genre, director, actor):
                # user [4] (one task) or [..., 4]; rate [..., n]; bags [..., n, bag]
                u = torch.cat([self.gender(user[..., 0]), self.age(user[..., 1]),
                               self.occupation(user[..., 2]), self.zip(user[..., 3])], -1)
                u = u.unsqueeze(-2).expand(*rate.shape, 4 * common.EMBED)
                i = torch.cat([self.rate(rate), self.genre(genre).mean(-2),
                               self.director(director).mean(-2), self.actor(actor).mean(-2)], -1)
                return torch.cat([u, i], -1)

        width = common.EMBED * len(common.FIELDS)
        self.module = nn.Module()
        self.module.features = Features()
        self.module.head = nn.Sequential(nn.Linear(width, common.HIDDEN), nn.ReLU(),
                                         nn.Linear(common.HIDDEN, common.HIDDEN), nn.ReLU(),
                                         nn.Linear(common.HIDDEN, 1))
        self.module.to(dtype)
        with torch.no_grad():
            for name, p in self.module.named_parameters():
                p.copy_(torch.as_tensor(params[name], dtype=dtype))
        self.features = self.module.features
        self.head = self.module.head


def to_torch(batch: dict, dtype) -> dict:
    torch = _torch()
    return {k: torch.as_tensor(v, dtype=dtype if k.endswith("_y") else torch.int64).contiguous()
            for k, v in batch.items()}


def head_forward(weights, x):
    """The head with explicit weights [W1, b1, W2, b2, W3, b3] (as the MeLU scripts adapt it)."""
    F = _torch().nn.functional
    h = F.relu(F.linear(x, weights[0], weights[1]))
    h = F.relu(F.linear(h, weights[2], weights[3]))
    return F.linear(h, weights[4], weights[5]).squeeze(-1)


def loop_meta_loss(model: MeLU, batch: dict, order: int, steps: int, inner_lr=common.INNER_LR):
    """Mean query loss of the meta-batch, one task after the other."""
    torch = _torch()
    F = torch.nn.functional
    meta = list(model.head.parameters())
    tasks = batch["user"].shape[0]
    total = 0.0
    for t in range(tasks):
        xs = model.features(batch["user"][t], batch["s_rate"][t], batch["s_genre"][t],
                            batch["s_director"][t], batch["s_actor"][t])
        xq = model.features(batch["user"][t], batch["q_rate"][t], batch["q_genre"][t],
                            batch["q_director"][t], batch["q_actor"][t])
        fast = meta
        for _ in range(steps):
            loss = F.mse_loss(head_forward(fast, xs), batch["s_y"][t])
            grads = torch.autograd.grad(loss, fast, create_graph=(order == 2))
            fast = [w - inner_lr * g for w, g in zip(fast, grads)]
        total = total + F.mse_loss(head_forward(fast, xq), batch["q_y"][t])
    return total / tasks


def func_meta_grad(model: MeLU, order: int, steps: int, inner_lr=common.INNER_LR):
    """A function (features params, head params, batch) -> (their meta-gradients) built
    from torch.func: vmap over the tasks of the per-task query loss, grad of the mean."""
    torch = _torch()
    from torch.func import functional_call, grad, vmap
    mse = torch.nn.functional.mse_loss
    features, head = model.features, model.head

    def task_loss(emb, meta_head, task):
        xs = functional_call(features, emb, (task["user"], task["s_rate"], task["s_genre"],
                                             task["s_director"], task["s_actor"]))
        xq = functional_call(features, emb, (task["user"], task["q_rate"], task["q_genre"],
                                             task["q_director"], task["q_actor"]))

        def support_loss(h):
            return mse(functional_call(head, h, (xs,)).squeeze(-1), task["s_y"])

        fast = meta_head
        for _ in range(steps):
            g = grad(support_loss)(fast)
            if order == 1:  # first-order MAML: the inner gradient is a constant
                g = {k: v.detach() for k, v in g.items()}
            fast = {k: fast[k] - inner_lr * g[k] for k in fast}
        return mse(functional_call(head, fast, (xq,)).squeeze(-1), task["q_y"])

    def meta_loss(emb, meta_head, batch):
        return vmap(task_loss, in_dims=(None, None, 0))(emb, meta_head, batch).mean()

    return grad(meta_loss, argnums=(0, 1))


def chunked_meta_grad(meta_grad, chunk: int, compile: bool = False):
    """The meta-gradient of a meta-batch accumulated over chunks of `chunk` tasks: `meta_grad`
    (func_meta_grad's function, the gradient of the chunk's mean) on each chunk in turn,
    weighted by its share of the tasks, so the per-task copies of the head that vmap makes
    stay chunk-sized. `compile`: torch.compile of the per-chunk function (one chunk shape)."""
    torch = _torch()
    if compile:
        meta_grad = torch.compile(meta_grad)

    def accumulated(emb, head, batch):
        tasks = batch["user"].shape[0]
        if tasks % chunk:
            raise ValueError(f"{tasks} tasks do not split into chunks of {chunk}")
        total = None
        for start in range(0, tasks, chunk):
            part = {k: v[start:start + chunk] for k, v in batch.items()}
            g_emb, g_head = meta_grad(emb, head, part)
            if total is None:
                total = ({k: v.clone() for k, v in g_emb.items()}, {k: v.clone() for k, v in g_head.items()})
            else:
                for acc, g in zip(total, (g_emb, g_head)):
                    for k, v in g.items():
                        acc[k].add_(v)
        scale = chunk / tasks
        for acc in total:
            for v in acc.values():
                v.mul_(scale)
        return total

    return accumulated


def build(dtype_name: str = "float32", pool: int = common.POOL):
    torch = _torch()
    dtype = getattr(torch, dtype_name)
    tasks = common.make_tasks(pool)
    params = common.init_params()
    return torch, dtype, tasks, params


def make_step(variant: str, order: int, steps: int, batch: int, threads: int = 1, chunk: int = 8):
    """A synchronous meta-step of `batch` tasks (cycling through the pool) for one variant."""
    torch, dtype, tasks, params = build(pool=max(common.POOL, batch))
    batches = [to_torch(b, dtype) for b in common.meta_batches(tasks, batch)]
    model = MeLU(params, dtype)
    named = dict(model.module.named_parameters())
    # the loop keeps the scripts' default Adam; the torch.func variants take the fused one
    opt = torch.optim.Adam(model.module.parameters(), lr=common.META_LR, betas=common.ADAM_BETAS,
                           eps=common.ADAM_EPS, fused=(variant != "loop"))
    state = {"i": 0}

    def next_batch():
        b = batches[state["i"] % len(batches)]
        state["i"] += 1
        return b

    if variant == "loop":
        def step():
            loss = loop_meta_loss(model, next_batch(), order, steps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    # torch.func: the meta-parameters enter as plain tensors sharing the modules' storage
    emb = {k: v.detach() for k, v in model.features.named_parameters()}
    head = {k: v.detach() for k, v in model.head.named_parameters()}
    meta_grad = func_meta_grad(model, order, steps)
    if variant == "func-compile":
        meta_grad = torch.compile(meta_grad)
    elif variant in ("func-chunk", "func-compile-chunk"):
        meta_grad = chunked_meta_grad(meta_grad, min(chunk, batch), compile=(variant == "func-compile-chunk"))

    def step():
        g_emb, g_head = meta_grad(emb, head, next_batch())
        for k, g in g_emb.items():
            named["features." + k].grad = g
        for k, g in g_head.items():
            named["head." + k].grad = g
        opt.step()
    return step


def main() -> int:
    args = common.parse_args("PyTorch peers of bench_melu's MeLU step", VARIANTS)
    # --check: 2 XLA devices for the jax epoch-dp comparison
    common.configure_threads(args.threads, warn=not args.check, xla_devices=2 if args.check else 1)
    if args.check:
        import melu_check
        return melu_check.main(compile=not args.no_compile_check)
    torch = _torch()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    failures = common.run_all("pytorch", torch.__version__, args, make_step)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
