#!/usr/bin/env python3
"""Checks the retrieval evaluation set against the knowledge folder and prints its statistics.

Usage: python3 eval/retrieval/stats.py [KNOWLEDGE_DIR] [SPLIT.jsonl ...]
Defaults: knowledge/ and eval/retrieval/*.jsonl, relative to the repository root.

Parses the knowledge the way the design describes (Markdown sections, CSV rows, JSONL products),
checks that every id in `relevant` exists, and reports per split: query count, share of queries
without an answer, and share of answered queries that share no word with their answer.

"No shared word" is measured strictly without a segmenter: the query shares no Chinese character
bigram and no Latin/digit token with ANY of its relevant snippets (doc ids count as all their sections).
"""
import csv
import json
import os
import re
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLATFORMS = {"taobao", "tmall", "jd", "pdd", "douyin"}
# The day the set was written; queries without "date" are asked on it.
TODAY = "2026-11-23"


def parse_yaml_subset(text):
    """Front matter uses flat `key: value` and `key: [a, b]` only."""
    meta = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key.strip()] = [v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()]
        else:
            meta[key.strip()] = value.strip("'\"")
    return meta


def load_knowledge(root):
    """Returns {snippet id: (doc id, text, platforms, valid_from)}; raises on malformed files."""
    snippets = {}
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if name.endswith(".md"):
                text = open(path, encoding="utf-8-sig").read()
                lines = text.split("\n")
                meta, body = {}, text
                if lines and lines[0] in ("+++", "---"):
                    end = lines.index(lines[0], 1)
                    front = "\n".join(lines[1:end])
                    meta = tomllib.loads(front) if lines[0] == "+++" else parse_yaml_subset(front)
                    body = "\n".join(lines[end + 1:])
                bad = set(meta.get("platforms", [])) - PLATFORMS
                if bad:
                    raise ValueError(f"{rel}: unknown platforms {bad}")
                doc = meta.get("id", rel[:-3])
                parts = re.split(r"^## ", body, flags=re.M)
                plats = set(meta.get("platforms", []))
                since = str(meta.get("valid_from", ""))
                if parts[0].strip():
                    snippets[f"{doc}#0"] = (doc, parts[0], plats, since)
                for n, part in enumerate(parts[1:], 1):
                    snippets[f"{doc}#{n}"] = (doc, part, plats, since)
            elif name.endswith(".csv"):
                with open(path, encoding="utf-8-sig", newline="") as f:
                    for n, row in enumerate(csv.DictReader(f), 1):
                        sid = row.get("id") or f"{rel[:-4]}:{n}"
                        if sid in snippets:
                            raise ValueError(f"{rel}: duplicate id {sid}")
                        plats = {p for p in (row.get("platforms") or "").split("|") if p}
                        snippets[sid] = (sid, row["question"] + "\n" + row["answer"], plats, "")
            elif name.endswith(".jsonl"):
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        if line.strip():
                            p = json.loads(line)
                            text = " ".join([p["name"], p["category"], p["description"],
                                             json.dumps(p["attributes"], ensure_ascii=False)])
                            snippets[p["sku"]] = (p["sku"], text, set(p["platforms"]), "")
    return snippets


def features(text):
    text = text.lower()
    grams = set()
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    grams.update(re.findall(r"[a-z0-9]+", text))
    return grams


def main():
    args = sys.argv[1:]
    kdir = args[0] if args and os.path.isdir(args[0]) else os.path.join(ROOT, "knowledge")
    splits = [a for a in args if a.endswith(".jsonl")] or sorted(
        os.path.join(ROOT, "eval", "retrieval", f)
        for f in os.listdir(os.path.join(ROOT, "eval", "retrieval")) if f.endswith(".jsonl"))
    snippets = load_knowledge(kdir)
    docs = {}
    for sid, snippet in snippets.items():
        docs.setdefault(snippet[0], []).append(snippet)
    errors = 0
    seen = {}
    for split in splits:
        n = no_answer = no_overlap = 0
        for ln, line in enumerate(open(split, encoding="utf-8"), 1):
            if not line.strip():
                continue
            q = json.loads(line)
            n += 1
            where = f"{os.path.basename(split)}:{ln}"
            key = (q["query"], q.get("platform"), q.get("sku"), q.get("date"))
            if key in seen:
                print(f"{where}: duplicate query (also {seen[key]})")
                errors += 1
            seen[key] = where
            if q.get("platform") and q["platform"] not in PLATFORMS:
                print(f"{where}: unknown platform {q['platform']}")
                errors += 1
            texts = []
            for rid in q["relevant"]:
                found = [snippets[rid]] if rid in snippets else docs.get(rid, [])
                if not found:
                    print(f"{where}: unknown id {rid}")
                    errors += 1
                for _, text, plats, since in found:
                    texts.append(text)
                    # A relevant snippet the filters must hide is a mistake in the set.
                    if q.get("platform") and plats and q["platform"] not in plats:
                        print(f"{where}: {rid} is not visible on {q['platform']}")
                        errors += 1
                    if since and since > q.get("date", TODAY):
                        print(f"{where}: {rid} is not valid yet on {q.get('date', TODAY)}")
                        errors += 1
            if not q["relevant"]:
                no_answer += 1
            elif not features(q["query"]) & set().union(*map(features, texts)):
                no_overlap += 1
        print(f"{os.path.basename(split)}: {n} queries, no answer {no_answer} ({no_answer / n:.0%}), "
              f"no shared word {no_overlap} ({no_overlap / n:.0%} of all, "
              f"{no_overlap / max(1, n - no_answer):.0%} of answered)")
    print(f"{len(snippets)} snippets, {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
