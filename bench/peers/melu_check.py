# Correctness self-check of the Python peers (melu_torch.py --check, melu_jax.py --check):
# in float64 on a tiny problem (3 tasks of the MeLU workload), the torch per-task loop,
# torch.func (vmap) and JAX must give the same meta-gradient of every parameter (relative
# 1e-6) for order 1 and 2, and the same parameters after two Adam steps (torch.optim.Adam,
# its fused form, and the hand-written one of the JAX peer); order 2 must
# reach the embedding rows that only support items use (the mixed terms), order 1 must not.
# torch.compile of the torch.func meta-gradient is compared too (K 3), unless compile=False;
# where torch.compile cannot run here, that comparison is reported as skipped.
# The tuned variants (2 meta-batches of 8 tasks, chunks of 2): torch func-chunk and
# func-compile-chunk and jax chunk (meta-gradients), jax epoch and epoch-dp on 2 XLA devices
# (parameters after one epoch of 2 Adam steps), each against the torch loop.
# Prints one line per comparison; returns 0 when all agree, 1 otherwise.
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import numpy as np

import melu_common as common

TOLERANCE = 1e-6


def rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def worst(a: dict, b: dict) -> tuple:
    errors = {k: rel(np.asarray(a[k]), np.asarray(b[k])) for k in a}
    name = max(errors, key=errors.get)
    return errors[name], name


def support_only_rows(batch: dict) -> np.ndarray:
    """actor rows that some support item uses and no query item does."""
    return np.setdiff1d(np.unique(batch["s_actor"]), np.unique(batch["q_actor"]))


def func_grads(melu_torch, params, dtype, batch_t, order, steps, inner_lr, compile=False):
    """The torch.func meta-gradient (optionally under torch.compile), flat torch names."""
    import torch
    model = melu_torch.MeLU(params, dtype)
    emb = {k: v.detach() for k, v in model.features.named_parameters()}
    head = {k: v.detach() for k, v in model.head.named_parameters()}
    meta_grad = melu_torch.func_meta_grad(model, order, steps, inner_lr)
    if compile:
        meta_grad = torch.compile(meta_grad)
    g_emb, g_head = meta_grad(emb, head, batch_t)
    out = {f"features.{k}": v.numpy() for k, v in g_emb.items()}
    out.update({f"head.{k}": v.numpy() for k, v in g_head.items()})
    return out


def check_tuned(report, melu_torch, melu_jax, torch, jax, jnp, compile: bool, steps: int = 2,
                chunk: int = 2) -> None:
    """The tuned variants against the torch loop on 2 meta-batches of 8 tasks: the chunked
    meta-gradients (chunks of `chunk`: torch func-chunk, func-compile-chunk unless `compile`
    is False, jax chunk), and the parameters after one epoch (2 meta-steps with Adam) from jax
    `epoch` (one device) and `epoch-dp` (2 XLA devices, 4 tasks each, psum of the partial
    meta-gradients)."""
    dtype = torch.float64
    batches_np = common.meta_batches(common.make_tasks(16, seed=13), 8)
    params = common.init_params(seed=5)
    batches_t = [melu_torch.to_torch(b, dtype) for b in batches_np]
    batches_j = [melu_jax.to_jax(b, jnp, jnp.float64) for b in batches_np]
    for order in (1, 2):
        model = melu_torch.MeLU(params, dtype)
        melu_torch.loop_meta_loss(model, batches_t[0], order, steps).backward()
        loop = {k: p.grad.numpy().copy() for k, p in model.module.named_parameters()}
        for variant in ("func-chunk", "func-compile-chunk"):
            what = f"order {order} K {steps}: torch {variant} ({chunk}-task chunks of 8) vs torch loop"
            if variant == "func-compile-chunk" and not compile:
                print(f"skip {what}: not asked")
                continue
            model = melu_torch.MeLU(params, dtype)
            emb = {k: v.detach() for k, v in model.features.named_parameters()}
            head = {k: v.detach() for k, v in model.head.named_parameters()}
            try:
                meta_grad = melu_torch.chunked_meta_grad(melu_torch.func_meta_grad(model, order, steps), chunk,
                                                         compile=(variant == "func-compile-chunk"))
                g_emb, g_head = meta_grad(emb, head, batches_t[0])
            except Exception as e:  # torch.compile without a C++ compiler, as above
                if variant == "func-chunk":
                    raise
                print(f"skip {what}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
                continue
            got = {f"features.{k}": v.numpy() for k, v in g_emb.items()}
            got.update({f"head.{k}": v.numpy() for k, v in g_head.items()})
            e, name = worst(got, loop)
            report(e <= TOLERANCE, f"{what}  max rel {e:.1e} ({name})")
        meta_grad = jax.jit(melu_jax.chunked_meta_grad_fn(jax, jnp, order, steps, chunk, 8))
        g = meta_grad(melu_jax.split_params(params, jnp, jnp.float64), batches_j[0])
        e, name = worst({k: np.asarray(v) for k, v in melu_jax.flat_grads(g).items()}, loop)
        report(e <= TOLERANCE, f"order {order} K {steps}: jax chunk ({chunk}-task chunks of 8) vs torch loop  "
                               f"max rel {e:.1e} ({name})")

        model = melu_torch.MeLU(params, dtype)
        opt = torch.optim.Adam(model.module.parameters(), lr=common.META_LR, betas=common.ADAM_BETAS,
                               eps=common.ADAM_EPS)
        for b in batches_t:
            opt.zero_grad(set_to_none=True)
            melu_torch.loop_meta_loss(model, b, order, steps).backward()
            opt.step()
        moved_t = {k: p.detach().numpy() - params[k] for k, p in model.module.named_parameters()}
        for variant, devices in (("epoch", 1), ("epoch-dp", 2)):
            if devices > len(jax.devices()):
                report(False, f"order {order} K {steps}: jax {variant}: {devices} XLA devices needed, "
                              f"{len(jax.devices())} present")
                continue
            epoch, place = melu_jax.make_epoch(jax, jnp, order, steps, chunk, 8, devices)
            p = melu_jax.split_params(params, jnp, jnp.float64)
            p, _ = epoch(*place(p, melu_jax.adam_init(jax, jnp, p), melu_jax.stack_batches(batches_j, jnp)))
            moved_j = {k: np.asarray(v) - params[k] for k, v in melu_jax.flat_grads(p).items()}
            e, name = worst(moved_j, moved_t)
            report(e <= TOLERANCE, f"order {order} K {steps}: jax {variant} ({devices} device(s)), one epoch of 2 "
                                   f"meta-steps vs torch loop + Adam: parameter change max rel {e:.1e} ({name})")


def main(tasks: int = 3, steps_list=(1, 3), inner_lrs=(common.INNER_LR, 0.1), compile: bool = True) -> int:
    import torch
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import melu_jax
    import melu_torch

    dtype = torch.float64
    batch_np = common.meta_batches(common.make_tasks(tasks, seed=11), tasks)[0]
    params = common.init_params(seed=5)
    batch_t = melu_torch.to_torch(batch_np, dtype)
    batch_j = melu_jax.to_jax(batch_np, jnp, jnp.float64)
    rows = support_only_rows(batch_np)
    failures = 0

    def report(ok: bool, text: str):
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {text}", flush=True)

    print(f"melu peers check: torch {torch.__version__}, jax {jax.__version__}, float64, {tasks} tasks, "
          f"tolerance {TOLERANCE:g} (relative, per parameter)")
    for inner_lr in inner_lrs:
        for steps in steps_list:
            by_order = {}
            for order in (1, 2):
                # torch loop: the module's .grad after backward of the mean query loss
                model = melu_torch.MeLU(params, dtype)
                melu_torch.loop_meta_loss(model, batch_t, order, steps, inner_lr).backward()
                loop = {k: p.grad.numpy().copy() for k, p in model.module.named_parameters()}
                # torch.func
                func = func_grads(melu_torch, params, dtype, batch_t, order, steps, inner_lr)
                # JAX
                meta_loss = melu_jax.meta_loss_fn(jax, jnp, order, steps, inner_lr)
                g = jax.grad(meta_loss)(melu_jax.split_params(params, jnp, jnp.float64), batch_j)
                jx = {k: np.asarray(v) for k, v in melu_jax.flat_grads(g).items()}

                what = f"order {order} K {steps} inner lr {inner_lr:g}"
                e, name = worst(func, loop)
                report(e <= TOLERANCE, f"{what}: torch.func vs torch loop  max rel {e:.1e} ({name})")
                e, name = worst(jx, loop)
                report(e <= TOLERANCE, f"{what}: jax        vs torch loop  max rel {e:.1e} ({name})")
                by_order[order] = loop
            actor = "features.actor.weight"
            first = float(np.abs(by_order[1][actor][rows]).max())
            second = float(np.abs(by_order[2][actor][rows]).max())
            report(first == 0.0 and second > 0.0,
                   f"K {steps} inner lr {inner_lr:g}: actor rows used by support items only: "
                   f"|grad| order 1 {first:.1e} (0 expected), order 2 {second:.1e} (>0 expected)")
            e, name = worst(by_order[1], by_order[2])
            print(f"     K {steps} inner lr {inner_lr:g}: order 1 vs order 2 differ by {e:.1e} ({name})")

    # torch.compile of the torch.func meta-gradient (the func-compile variant)
    for order in (1, 2):
        steps, inner_lr = 3, 0.1
        what = f"order {order} K {steps} inner lr {inner_lr:g}: torch.compile(torch.func) vs torch loop"
        if not compile:
            print(f"skip {what}: not asked")
            continue
        model = melu_torch.MeLU(params, dtype)
        melu_torch.loop_meta_loss(model, batch_t, order, steps, inner_lr).backward()
        loop = {k: p.grad.numpy().copy() for k, p in model.module.named_parameters()}
        try:
            compiled = func_grads(melu_torch, params, dtype, batch_t, order, steps, inner_lr, compile=True)
        except Exception as e:  # e.g. no C++ compiler for inductor: the benchmark reports it too
            print(f"skip {what}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            continue
        e, name = worst(compiled, loop)
        report(e <= TOLERANCE, f"{what}  max rel {e:.1e} ({name})")

    # two Adam steps: torch loop + torch.optim.Adam vs the jitted JAX meta-step with its Adam
    for order in (1, 2):
        steps = 2
        model = melu_torch.MeLU(params, dtype)
        opt = torch.optim.Adam(model.module.parameters(), lr=common.META_LR, betas=common.ADAM_BETAS,
                               eps=common.ADAM_EPS)
        for _ in range(2):
            opt.zero_grad(set_to_none=True)
            melu_torch.loop_meta_loss(model, batch_t, order, steps).backward()
            opt.step()
        moved_t = {k: p.detach().numpy() - params[k] for k, p in model.module.named_parameters()}
        # torch.func with the fused Adam (the func variants' optimizer)
        model = melu_torch.MeLU(params, dtype)
        named = dict(model.module.named_parameters())
        opt = torch.optim.Adam(model.module.parameters(), lr=common.META_LR, betas=common.ADAM_BETAS,
                               eps=common.ADAM_EPS, fused=True)
        emb = {k: v.detach() for k, v in model.features.named_parameters()}
        head = {k: v.detach() for k, v in model.head.named_parameters()}
        meta_grad = melu_torch.func_meta_grad(model, order, steps)
        for _ in range(2):
            g_emb, g_head = meta_grad(emb, head, batch_t)
            for k, g in g_emb.items():
                named["features." + k].grad = g
            for k, g in g_head.items():
                named["head." + k].grad = g
            opt.step()
        moved_f = {k: p.detach().numpy() - params[k] for k, p in model.module.named_parameters()}
        e, name = worst(moved_f, moved_t)
        report(e <= TOLERANCE, f"order {order} K {steps}: 2 Adam steps, torch.func + fused Adam vs torch loop + Adam: "
                               f"parameter change max rel {e:.1e} ({name})")
        p = melu_jax.split_params(params, jnp, jnp.float64)
        state = melu_jax.adam_init(jax, jnp, p)
        meta_step = melu_jax.make_meta_step(jax, jnp, order, steps)
        for _ in range(2):
            p, state = meta_step(p, state, batch_j)
        moved_j = {k: np.asarray(v) - params[k] for k, v in melu_jax.flat_grads(p).items()}
        e, name = worst(moved_j, moved_t)
        report(e <= TOLERANCE, f"order {order} K {steps}: 2 Adam steps, jax jit vs torch.optim.Adam: "
                               f"parameter change max rel {e:.1e} ({name})")

    check_tuned(report, melu_torch, melu_jax, torch, jax, jnp, compile)
    print(f"melu peers check: {'all agree' if failures == 0 else f'{failures} failed'}")
    return 0 if failures == 0 else 1
