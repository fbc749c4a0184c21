# Side-by-side table of the MeLU step: metarec (bench_melu's maml/... benchmarks, Google
# Benchmark JSON) against the Python peers (JSON lines of melu_torch.py and melu_jax.py).
# Standard library only.
# Usage: python3 compare.py --metarec build/peers/metarec.json --peers build/peers/peers.jsonl
#        [--out build/peers/table.md]
# Prints the Markdown table (and writes it to --out): one row per (order, K, batch, threads)
# with metarec's tasks/s, the best variant of each tool (tasks/s and which variant), the
# fastest peer, metarec / fastest peer and metarec / the PyTorch per-task loop; then a second
# table with every variant. A missing or failed measurement reads "n/a" or "failed" (reasons
# below the tables).
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys

NAME = re.compile(r"^maml/order:(\d+)/steps:(\d+)/batch:(\d+)/threads:(\d+)(?:/|$)")
LOOP = "pytorch loop"


def read_metarec(path: str) -> tuple:
    """{(order, K, batch, threads): tasks/s} from a Google Benchmark JSON file: the "median"
    aggregate where there are repetitions, else the median of the iterations; and notes."""
    if not path or not os.path.exists(path):
        return {}, [f"metarec: no results ({path or 'no file given'})"]
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return {}, [f"metarec: unreadable {path}: {e}"]
    medians, iterations, notes = {}, {}, []
    for b in data.get("benchmarks", []):
        m = NAME.match(b.get("run_name") or b.get("name", ""))
        if not m:
            continue
        key = tuple(int(x) for x in m.groups())
        if b.get("error_occurred"):
            notes.append(f"metarec {b.get('name')}: failed: {b.get('error_message', 'error')}")
            medians.setdefault(key, None)
            continue
        value = b.get("tasks_per_second")
        if value is None:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = float(value)
        else:
            iterations.setdefault(key, []).append(float(value))
    results = {k: statistics.median(v) for k, v in iterations.items()}
    results.update(medians)
    if not results:
        notes.append(f"metarec: no maml/ benchmark in {path}")
    return results, notes


def read_peers(path: str) -> tuple:
    """({(order, K, batch, threads): {peer: tasks/s or None}}, [peer names], notes,
    {tool: version})."""
    results, peers, notes, versions = {}, [], [], {}
    if not os.path.exists(path):
        return results, peers, [f"peers: no results ({path})"], {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
                key = (int(r["order"]), int(r["steps"]), int(r["batch"]), int(r["threads"]))
                peer = f"{r['tool']} {r['variant']}"
            except (ValueError, KeyError, TypeError) as e:
                notes.append(f"peers: line {lineno} unreadable: {e}")
                continue
            if peer not in peers:
                peers.append(peer)
            versions.setdefault(r["tool"], r.get("version", "?"))
            status = r.get("status", "ok")
            value = r.get("tasks_per_second")
            if status != "ok" or value is None:
                results.setdefault(key, {})[peer] = None
                reason = f"{peer} ({r.get('version', '?')}) order {key[0]} K {key[1]} B {key[2]} T {key[3]}: {status}"
                notes.append(reason)
            else:
                results.setdefault(key, {})[peer] = float(value)
    return results, peers, notes, versions


def number(x) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def best_by_tool(row: dict, names: list) -> dict:
    """{tool: (variant name, tasks/s)} for the fastest measured variant of each tool in a row."""
    best = {}
    for name in names:
        value = row.get(name)
        tool = name.split(" ", 1)[0]
        if value is not None and (tool not in best or value > best[tool][1]):
            best[tool] = (name, value)
    return best


def table(metarec: dict, peers: dict, names: list) -> list:
    """The summary: metarec, the best variant of each tool, the fastest peer and the ratios."""
    tools = list(dict.fromkeys(n.split(" ", 1)[0] for n in names))
    header = (["order", "K", "B", "threads", "metarec"] + [f"best {t}" for t in tools]
              + ["fastest peer", "metarec / fastest", "metarec / loop"])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    for key in sorted(set(metarec) | set(peers)):
        row = peers.get(key, {})
        best = best_by_tool(row, names)
        cells = [str(k) for k in key] + [number(metarec.get(key))]
        for tool in tools:
            if tool in best:
                cells.append(f"{number(best[tool][1])} ({best[tool][0].split(' ', 1)[1]})")
            else:
                cells.append("failed" if any(n.startswith(tool + " ") and n in row for n in names) else "n/a")
        fastest = max(best.values(), key=lambda b: b[1]) if best else None
        mine = metarec.get(key)
        cells += [fastest[0] if fastest else "n/a", ratio(mine, fastest[1] if fastest else None),
                  ratio(mine, row.get(LOOP))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def variants_table(peers: dict, names: list) -> list:
    """Every variant of every tool, tasks/s."""
    header = ["order", "K", "B", "threads"] + names
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    for key in sorted(peers):
        row = peers[key]
        cells = [str(k) for k in key]
        for name in names:
            cells.append("n/a" if name not in row else ("failed" if row[name] is None else number(row[name])))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description="metarec vs the Python peers: a Markdown table of the MeLU step")
    p.add_argument("--metarec", default="build/peers/metarec.json")
    p.add_argument("--peers", default="build/peers/peers.jsonl")
    p.add_argument("--out", default="")
    p.add_argument("--title", default="MeLU step, tasks per second (higher is better)")
    p.add_argument("--note", action="append", default=[], help="a line to print under the table (repeatable)")
    args = p.parse_args()

    metarec, metarec_notes = read_metarec(args.metarec)
    peers, names, peer_notes, versions = read_peers(args.peers)
    if not metarec and not peers:
        print("compare: nothing to compare", file=sys.stderr)
        return 1
    tools = ", ".join(f"{t} {v}" for t, v in versions.items())
    lines = [f"### {args.title}", ""]
    if tools:
        lines += [f"Peers: {tools}. Each value is the median of the repetitions; every peer process is "
                  f"pinned to as many cores as threads (taskset).", ""]
    lines += table(metarec, peers, names)
    if names:
        lines += ["", "Every variant (tasks per second):", ""] + variants_table(peers, names)
    notes = args.note + metarec_notes + peer_notes
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
