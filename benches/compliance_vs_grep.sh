#!/usr/bin/env bash
# Baseline for the compliance bench: `grep -F -f terms` on the same 10,000 terms and 10 MB input.
# Runs the criterion bench once (which also writes the corpus), times grep on it, and prints
# both throughputs and their ratio.
#
# Usage: benches/compliance_vs_grep.sh [runs]    (grep runs, default 5; best run counts)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT

KEFU_BENCH_CORPUS_DIR="$corpus" cargo bench --bench compliance -- \
    --warm-up-time 1 --measurement-time 5 >"$corpus/criterion.log" 2>&1 || {
    cat "$corpus/criterion.log" >&2
    exit 1
}
bytes=$(stat -c %s "$corpus/input.txt")

# Best of N wall-clock runs, in seconds. LC_ALL=C: byte matching, grep's fastest mode.
best=""
for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    LC_ALL=C grep -F -c -f "$corpus/terms.txt" "$corpus/input.txt" >/dev/null || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
grep_mbs=$(echo "$bytes / $best / 1048576" | bc -l)

# Criterion's mean time per iteration, in nanoseconds.
mean_ns() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
        "target/criterion/$1/new/estimates.json"
}
printf 'input: %d bytes, %d terms\n' "$bytes" "$(wc -l <"$corpus/terms.txt")"
printf '%-44s %10.1f MB/s\n' "grep -F -f terms (LC_ALL=C, best of $runs)" "$grep_mbs"
for id in compliance_10k_terms_10mb/normalize compliance_10k_terms_10mb/check shipped_rules_10mb/check; do
    ns=$(mean_ns "$id")
    mbs=$(echo "$bytes / ($ns / 1000000000) / 1048576" | bc -l)
    ratio=$(echo "$mbs / $grep_mbs" | bc -l)
    printf '%-44s %10.1f MB/s   %6.2fx grep\n' "$id" "$mbs" "$ratio"
done
