#!/usr/bin/env python3
"""Build the must-pass sentence set: sentences of the knowledge documents, FAQ answers,
product texts, and every `pass` case of the tuned-side files. Held-out and sealed probes are
never read. Writes JSONL (expect=pass) to stdout for `kefu eval compliance --cases`.
Usage: python3 eval/compliance/tools/must_pass.py [--with-probe-12] > /tmp/must-pass.jsonl"""
import csv, glob, json, os, re, sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
CASES = ["tuned", "round2-dev", "round4-dev", "unseen-probe", "unseen-probe-2",
         "unseen-probe-3", "unseen-probe-4", "unseen-probe-5", "unseen-probe-6",
         "unseen-probe-7", "unseen-probe-8", "unseen-probe-9", "unseen-probe-10"]
if "--with-probe-12" in sys.argv:
    CASES.append("unseen-probe-12")

out, seen = [], set()

def add(s, src):
    s = s.strip().strip("#").strip()
    if len(s) >= 4 and s not in seen:
        seen.add(s)
        out.append({"text": s, "expect": "pass", "source": src})

def sentences(text):
    # Split on sentence ends only; a clause alone loses the context the rules rely on.
    for part in re.split(r"(?<=[。！？!?])|\n", text):
        yield part

for path in sorted(glob.glob(os.path.join(ROOT, "knowledge", "**", "*.md"), recursive=True)):
    body = open(path, encoding="utf-8").read()
    body = re.sub(r"^(\+\+\+|---)\n.*?\n(\+\+\+|---)\n", "", body, flags=re.S)
    for s in sentences(body):
        add(s, "knowledge")
for path in sorted(glob.glob(os.path.join(ROOT, "knowledge", "faq", "*.csv"))):
    with open(path, encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            add(row.get("answer", ""), "faq")
with open(os.path.join(ROOT, "knowledge", "products.jsonl"), encoding="utf-8") as f:
    for line in f:
        if line.strip():
            p = json.loads(line)
            add(p.get("name", ""), "product")
            for s in sentences(p.get("description", "")):
                add(s, "product")
for name in CASES:
    with open(os.path.join(ROOT, "eval", "compliance", name + ".jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                c = json.loads(line)
                if c.get("expect") == "pass":
                    add(c["text"], name)

for c in out:
    print(json.dumps({"text": c["text"], "expect": "pass"}, ensure_ascii=False))
print(len(out), "sentences", file=sys.stderr)
