#!/usr/bin/env python3
"""Validate this shop's knowledge base and queries.jsonl (standard library only).

Parses knowledge/ the way the design's "Knowledge files" section describes it,
then checks every query: relevant ids exist, are visible on the query's platform,
are published on the query's date, and reports counts and the share of answerable
queries that share no Chinese character bigram with any of their relevant snippets.
"""
import csv, io, json, os, re, sys, datetime

try:
    import tomllib
except ImportError:  # pragma: no cover
    tomllib = None

ROOT = os.path.dirname(os.path.abspath(__file__))
KDIR = os.path.join(ROOT, "knowledge")
QFILE = os.path.join(ROOT, "queries.jsonl")
TODAY = "2026-11-23"
PLATFORMS = {"taobao", "tmall", "jd", "pdd", "douyin"}
SHOP_PLATFORMS = {"tmall", "jd", "pdd"}
KINDS = {"policy", "product", "faq", "script"}

errors, warnings = [], []


def err(msg):
    errors.append(msg)


def warn(msg):
    warnings.append(msg)


def parse_yaml_min(text, where):
    """Minimal YAML for flat front matter: key: value, key: [a, b]."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        m = re.match(r"^([A-Za-z_]+):\s*(.*)$", line)
        if not m:
            err(f"{where}: cannot parse YAML line {line!r}")
            continue
        k, v = m.group(1), m.group(2).strip()
        if v.startswith("[") and v.endswith("]"):
            out[k] = [x.strip().strip("'\"") for x in v[1:-1].split(",") if x.strip()]
        else:
            out[k] = v.strip("'\"")
    return out


def split_front_matter(text, where):
    lines = text.split("\n")
    if lines and lines[0].strip() in ("+++", "---"):
        fence = lines[0].strip()
        for i in range(1, len(lines)):
            if lines[i].strip() == fence:
                raw = "\n".join(lines[1:i])
                body = "\n".join(lines[i + 1:])
                if fence == "+++":
                    meta = tomllib.loads(raw)
                else:
                    meta = parse_yaml_min(raw, where)
                return meta, body
        err(f"{where}: unterminated front matter")
    return {}, text


def sentences(text):
    return [s for s in re.split(r"[。！？!?]", text) if s.strip()]


def norm_date(v, where):
    if v is None or v == "":
        return None
    s = str(v)
    try:
        datetime.date.fromisoformat(s)
    except ValueError:
        err(f"{where}: bad date {s!r}")
    return s


snippets = {}   # id -> dict(doc_id, title, text, platforms, valid_from, valid_to)
docs = {}       # doc_id -> list of snippet ids


def add(sid, doc_id, title, text, platforms, vf=None, vt=None, where=""):
    if sid in snippets:
        err(f"{where}: duplicate snippet id {sid}")
    for p in platforms or []:
        if p not in PLATFORMS:
            err(f"{where}: unknown platform {p}")
    snippets[sid] = dict(doc_id=doc_id, title=title, text=text,
                         platforms=set(platforms) if platforms else None,
                         valid_from=vf, valid_to=vt)
    docs.setdefault(doc_id, []).append(sid)


def load_md(path, rel):
    text = open(path, encoding="utf-8").read()
    meta, body = split_front_matter(text, rel)
    doc_id = meta.get("id") or os.path.splitext(rel)[0].replace(os.sep, "/")
    title = meta.get("title", doc_id)
    kind = meta.get("kind")
    if kind and kind not in KINDS:
        err(f"{rel}: bad kind {kind}")
    plats = meta.get("platforms")
    vf = norm_date(meta.get("valid_from"), rel)
    vt = norm_date(meta.get("valid_to"), rel)
    parts = re.split(r"(?m)^## ", body)
    pre = parts[0].strip()
    if pre:
        warn(f"{rel}: text before first '## ' (snippet {doc_id}#0)")
        add(f"{doc_id}#0", doc_id, title, pre, plats, vf, vt, rel)
    secs = parts[1:]
    if not 3 <= len(secs) <= 6:
        warn(f"{rel}: {len(secs)} sections (brief wants 3-6)")
    for n, sec in enumerate(secs, 1):
        heading, _, content = sec.partition("\n")
        content = content.strip()
        ns = len(sentences(content))
        if not 2 <= ns <= 5:
            warn(f"{rel}#{n}: {ns} sentences (brief wants 2-5)")
        add(f"{doc_id}#{n}", doc_id, f"{title} / {heading.strip()}",
            heading.strip() + "\n" + content, plats, vf, vt, rel)


def read_text_any(path):
    raw = open(path, "rb").read()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    err(f"{path}: undecodable")
    return ""


def load_csv(path, rel):
    file_id = os.path.splitext(rel)[0].replace(os.sep, "/")
    rows = list(csv.DictReader(io.StringIO(read_text_any(path))))
    for i, r in enumerate(rows, 1):
        if not r.get("question") or not r.get("answer"):
            err(f"{rel}:{i}: missing question/answer")
        sid = (r.get("id") or "").strip() or f"{file_id}:{i}"
        plats = [p.strip() for p in (r.get("platforms") or "").split("|") if p.strip()]
        add(sid, sid, r["question"], r["question"] + "\n" + r["answer"], plats or None, where=rel)


def load_jsonl(path, rel):
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        p = json.loads(line)
        for k in ("sku", "name", "category", "price", "attributes", "description", "platforms"):
            if k not in p:
                err(f"{rel}:{i}: missing {k}")
        attrs = " ".join(f"{k} {v}" for k, v in p.get("attributes", {}).items())
        text = " ".join([p["name"], p.get("category", ""), attrs, p.get("description", "")])
        add(p["sku"], p["sku"], p["name"], text, p.get("platforms") or None, where=rel)


for dirpath, _, files in os.walk(KDIR):
    for fn in sorted(files):
        path = os.path.join(dirpath, fn)
        rel = os.path.relpath(path, KDIR)
        if fn.endswith(".md"):
            load_md(path, rel)
        elif fn.endswith(".csv"):
            load_csv(path, rel)
        elif fn.endswith(".jsonl"):
            load_jsonl(path, rel)

syn = os.path.join(KDIR, "synonyms.txt")
if os.path.exists(syn):
    n = sum(1 for l in open(syn, encoding="utf-8") if l.strip())
    if n > 15:
        err(f"synonyms.txt has {n} lines (max 15)")

HAN = re.compile(r"[\u4e00-\u9fff]+")


def bigrams(text):
    out = set()
    for run in HAN.findall(text):
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def resolve(rid):
    """Snippet ids covered by a relevant id (a snippet id or a whole doc id)."""
    if rid in snippets:
        return [rid]
    return docs.get(rid, [])


def visible(sid, platform):
    s = snippets[sid]
    return platform is None or s["platforms"] is None or platform in s["platforms"]


# ---- queries
queries = [json.loads(l) for l in open(QFILE, encoding="utf-8") if l.strip()]
n_empty = n_nobigram = n_expired = 0
no_bigram_ids, used = [], set()
seen_q = set()
for i, q in enumerate(queries, 1):
    where = f"query {i}"
    extra = set(q) - {"query", "relevant", "platform", "sku", "date"}
    if extra:
        err(f"{where}: unknown keys {extra}")
    if q["query"] in seen_q:
        err(f"{where}: duplicate query text")
    seen_q.add(q["query"])
    plat = q.get("platform")
    if plat is not None and plat not in SHOP_PLATFORMS:
        err(f"{where}: platform {plat} not one the shop sells on")
    date = q.get("date", TODAY)
    datetime.date.fromisoformat(date)
    if "sku" in q:
        if q["sku"] not in snippets or snippets[q["sku"]]["doc_id"] != q["sku"]:
            err(f"{where}: unknown sku {q['sku']}")
        elif not visible(q["sku"], plat):
            err(f"{where}: sku {q['sku']} not sold on {plat}")
    rel = q["relevant"]
    if not rel:
        n_empty += 1
        continue
    if not 1 <= len(rel) <= 3:
        err(f"{where}: {len(rel)} relevant ids (want 1-3)")
    qb = bigrams(q["query"])
    shared = False
    for rid in rel:
        sids = resolve(rid)
        if not sids:
            err(f"{where}: relevant id {rid} does not exist")
            continue
        used.update(sids)
        for sid in sids:
            s = snippets[sid]
            if not visible(sid, plat):
                err(f"{where}: {sid} not visible on platform {plat}")
            if s["valid_from"] and date < s["valid_from"]:
                err(f"{where}: {sid} not yet valid on {date} (from {s['valid_from']})")
            if s["valid_to"] and date > s["valid_to"]:
                n_expired += 1
                warn(f"{where}: {sid} expired on {date} (labelled on purpose: question about a past campaign)")
            if qb & bigrams(s["title"] + "\n" + s["text"]):
                shared = True
    if not shared:
        n_nobigram += 1
        no_bigram_ids.append(i)

n = len(queries)
answerable = n - n_empty
print(f"snippets: {len(snippets)} (md sections {sum(1 for s in snippets if '#' in s)}, "
      f"faq {sum(1 for s in snippets if s.startswith('faq-'))}, "
      f"products {sum(1 for s in snippets if '#' not in s and not s.startswith('faq-'))}) in {len(docs)} docs/rows")
print(f"queries: {n}  no-answer: {n_empty}  answerable: {answerable}")
print(f"answerable with no shared bigram: {n_nobigram}/{answerable} = {n_nobigram / max(answerable, 1):.1%}")
print(f"queries with platform: {sum(1 for q in queries if 'platform' in q)}, with sku: "
      f"{sum(1 for q in queries if 'sku' in q)}, with date: {sum(1 for q in queries if 'date' in q)}")
print(f"expired-campaign labels (intentional): {n_expired}")
print(f"snippets never labelled: {len(set(snippets) - used)}")
if "-v" in sys.argv:
    print("no-bigram queries:", no_bigram_ids)
    print("unused:", sorted(set(snippets) - used))
for w in warnings:
    print("WARN", w)
for e in errors:
    print("ERROR", e)
if errors:
    sys.exit(1)
print("OK")
