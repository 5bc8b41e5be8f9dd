#!/usr/bin/env python3
"""Leave one case file out: for each independent probe and review file, train the classifier on
every other case in rules/classifier/replies.jsonl, check the left-out file with the real binary,
and sum block recall, sendable replies flagged and warn cases blocked. This is how
`block_threshold` was chosen (BENCHMARKS.md, "Compliance, session 7"); the held-out split is
never read.
Usage: python3 eval/compliance/tools/leave_one_out.py KEFU_BINARY WARN_THRESHOLD BLOCK_THRESHOLD [FILE ...]
(build first: cargo build --release; files default to unseen-probe*.jsonl and review*.jsonl)"""
import glob, json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CASES = os.path.join(ROOT, "eval", "compliance")


def main():
    kefu, warn, block = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    names = sys.argv[4:] or sorted(
        os.path.basename(f) for f in glob.glob(os.path.join(CASES, "*.jsonl"))
        if re.match(r"(unseen-probe|review)", os.path.basename(f)))
    training = [l for l in open(os.path.join(ROOT, "rules", "classifier", "replies.jsonl"), encoding="utf-8")
                if l.strip() and not l.startswith("#")]
    total = dict(block=0, blocked=0, by_rules=0, passes=0, flagged=0, warns=0, warn_blocked=0)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            cases = [json.loads(l) for l in open(os.path.join(CASES, name), encoding="utf-8") if l.strip()]
            left_out = {c["text"] for c in cases}
            work = os.path.join(tmp, name)
            shutil.copytree(os.path.join(ROOT, "rules"), os.path.join(work, "rules"))
            toml = os.path.join(work, "rules", "classifier.toml")
            src = open(toml, encoding="utf-8").read()
            src = re.sub(r"(?m)^threshold = .*$", f"threshold = {warn}", src)
            src = re.sub(r"(?m)^block_threshold = .*$", f"block_threshold = {block}", src)
            open(toml, "w", encoding="utf-8").write(src)
            with open(os.path.join(work, "rules", "classifier", "replies.jsonl"), "w", encoding="utf-8") as f:
                f.writelines(l for l in training if json.loads(l)["text"] not in left_out)
            config = os.path.join(work, "kefu.toml")
            open(config, "w", encoding="utf-8").write(f'[rules]\ndir = "{os.path.join(work, "rules")}"\n')
            texts = os.path.join(work, "texts.txt")
            open(texts, "w", encoding="utf-8").write("\n".join(c["text"].replace("\n", " ") for c in cases) + "\n")
            run = subprocess.run([kefu, "check", "--config", config, "--file", texts, "--json"],
                                 capture_output=True, text=True, cwd=work)
            results = [json.loads(l) for l in run.stdout.splitlines() if l.strip()]
            if len(results) != len(cases):
                sys.exit(f"{name}: {len(results)} results for {len(cases)} cases\n{run.stderr}")
            file = dict.fromkeys(total, 0)
            for c, r in zip(cases, results):
                model = any(f["rule"] == "model.replies" and f["severity"] == "block" for f in r["findings"])
                if c["expect"] == "block":
                    file["block"] += 1
                    file["blocked"] += r["verdict"] == "block"
                    file["by_rules"] += r["verdict"] == "block" and not model
                elif c["expect"] == "warn":
                    file["warns"] += 1
                    file["warn_blocked"] += r["verdict"] == "block"
                else:
                    file["passes"] += 1
                    file["flagged"] += r["verdict"] != "pass"
            for k in total:
                total[k] += file[k]
            print(f"{name}: blocked {file['blocked']}/{file['block']} (rules alone {file['by_rules']}), "
                  f"sendable flagged {file['flagged']}/{file['passes']}")
    t = total
    print(f"warn {warn}, block {block}: block recall {t['blocked']}/{t['block']} = {t['blocked'] / max(1, t['block']):.3f} "
          f"(rules alone {t['by_rules']}); sendable flagged {t['flagged']}/{t['passes']}; "
          f"warn cases blocked {t['warn_blocked']}/{t['warns']}")


main()
