#!/usr/bin/env python3
"""Check queries.jsonl against knowledge/: JSON validity, ids exist, platform/date
consistency, and report counts (no-answer share, paraphrase share).

Paraphrase = the query shares no Chinese character bigram and no ASCII word
(len>=2) with the text of any of its relevant snippets (stricter than a
word-level test: any shared 2-character word would also be a shared bigram).

Usage: python3 check_ids.py [QUERIES.jsonl] [--list] [--verbose]
"""
import csv, json, os, re, sys, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
KB = os.path.join(HERE, "knowledge")
QUERIES = next((a for a in sys.argv[1:] if not a.startswith("--")), os.path.join(HERE, "queries.jsonl"))
DEFAULT_DATE = "2026-11-23"
ALL_PLATFORMS = {"taobao", "tmall", "jd", "pdd", "douyin"}

snippets = {}  # id -> dict(doc, text, platforms, valid_from, valid_to)


def load_md(path):
    raw = open(path, encoding="utf-8").read()
    meta = {}
    lines = raw.split("\n")
    if lines and lines[0].strip() == "+++":
        end = lines[1:].index("+++") + 1
        meta = tomllib.loads("\n".join(lines[1:end]))
        lines = lines[end + 1:]
    doc_id = meta.get("id") or os.path.splitext(os.path.relpath(path, KB))[0]
    title = meta.get("title", doc_id)
    sections, cur, head = [], [], None
    for ln in lines:
        if ln.startswith("## "):
            sections.append((head, cur))
            head, cur = ln[3:].strip(), []
        else:
            cur.append(ln)
    sections.append((head, cur))
    common = dict(doc=doc_id, platforms=set(meta.get("platforms", ALL_PLATFORMS)),
                  valid_from=str(meta.get("valid_from", "")) or None,
                  valid_to=str(meta.get("valid_to", "")) or None)
    n_sec = 0
    for i, (h, body) in enumerate(sections):
        text = "\n".join(body).strip()
        if i == 0:
            if text:
                snippets[f"{doc_id}#0"] = dict(common, text=title + "\n" + text)
            continue
        n_sec += 1
        snippets[f"{doc_id}#{i}"] = dict(common, text=f"{title} / {h}\n{text}")
    return doc_id, n_sec


def main():
    docs = {}
    for root, _, files in os.walk(KB):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            if fn.endswith(".md"):
                d, n = load_md(p)
                if d in docs:
                    sys.exit(f"duplicate doc id {d}")
                docs[d] = n
            elif fn.endswith(".csv"):
                with open(p, encoding="utf-8-sig", newline="") as f:
                    for row in csv.DictReader(f):
                        rid = row["id"]
                        assert rid not in snippets, rid
                        snippets[rid] = dict(doc=rid, text=row["question"] + "\n" + row["answer"],
                                             platforms=set(ALL_PLATFORMS), valid_from=None, valid_to=None)
            elif fn.endswith(".jsonl"):
                for ln in open(p, encoding="utf-8"):
                    if not ln.strip():
                        continue
                    o = json.loads(ln)
                    for k in ("sku", "name", "category", "price", "attributes", "description", "platforms"):
                        assert k in o, (fn, k)
                    assert o["sku"] not in snippets, o["sku"]
                    snippets[o["sku"]] = dict(doc=o["sku"], text=json.dumps(o, ensure_ascii=False),
                                              platforms=set(o["platforms"]), valid_from=None, valid_to=None)
    valid_ids = set(snippets) | set(docs)

    def grams(s):
        s = s.lower()
        g = set()
        for run in re.findall(r"[\u4e00-\u9fff]+", s):
            g |= {run[i:i + 2] for i in range(len(run) - 1)}
        g |= {w for w in re.findall(r"[a-z0-9]+", s) if len(w) >= 2}
        return g

    errors, n, empty, para, answered = [], 0, 0, 0, 0
    for ln_no, ln in enumerate(open(QUERIES, encoding="utf-8"), 1):
        if not ln.strip():
            errors.append(f"line {ln_no}: blank line")
            continue
        try:
            q = json.loads(ln)
        except json.JSONDecodeError as e:
            errors.append(f"line {ln_no}: bad JSON: {e}")
            continue
        n += 1
        extra = set(q) - {"query", "relevant", "platform", "sku", "date"}
        if extra or "query" not in q or not isinstance(q.get("relevant"), list):
            errors.append(f"line {ln_no}: bad keys {sorted(q)}")
            continue
        date = q.get("date", DEFAULT_DATE)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            errors.append(f"line {ln_no}: bad date {date}")
        plat = q.get("platform")
        if plat and plat not in ALL_PLATFORMS:
            errors.append(f"line {ln_no}: bad platform {plat}")
        rel = q["relevant"]
        if not rel:
            empty += 1
            continue
        answered += 1
        texts = []
        for r in rel:
            if r not in valid_ids:
                errors.append(f"line {ln_no}: unknown id {r!r}")
                continue
            if r in snippets:
                sn = [snippets[r]]
            else:
                sn = [s for s in snippets.values() if s["doc"] == r]
            for s in sn:
                texts.append(s["text"])
                # a relevant snippet the filters would hide is a labelling error
                if plat and plat not in s["platforms"]:
                    errors.append(f"line {ln_no}: {r} not on platform {plat}")
                # Expired snippets still answer questions about their campaign (marked
                # expired); only a snippet before its valid_from is never retrieved.
                if s["valid_from"] and date < s["valid_from"]:
                    errors.append(f"line {ln_no}: {r} not valid yet on {date}")
        qg = grams(q["query"])
        shared = qg & set().union(*(grams(t) for t in texts)) if texts else set()
        if not shared:
            para += 1
        if "--verbose" in sys.argv:
            print(f"{ln_no:3d} {'PARA' if not shared else '    '} {q['query']} -> {rel} shared={sorted(shared)[:6]}")
    if "--list" in sys.argv:
        for k in sorted(snippets):
            print(k, snippets[k]["text"].split("\n")[0][:60])
    print(f"docs={len(docs)} md_sections={sum(docs.values())} snippets_total={len(snippets)} "
          f"(csv+jsonl+md)")
    print(f"queries={n} no_answer={empty} ({empty / max(n,1):.1%}) "
          f"paraphrase={para} ({para / max(n,1):.1%} of all, {para / max(answered,1):.1%} of answered)")
    for e in errors:
        print("ERROR", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
