#!/usr/bin/env bash
# Baseline for the compliance bench: `grep -F -f terms` on the same 10,000 terms and 10 MB input.
# Runs the criterion bench once (which also writes the corpus), times grep on it, and prints
# both throughputs and their ratio.
#
# Usage: benches/compliance_vs_grep.sh [runs]    (grep runs, default 5; best run counts)
# BENCH_PROFILE=dev (with CARGO_PROFILE_DEV_OPT_LEVEL=2) benches without a release build.
# Throughputs are MB/s (MiB) of input; the ratio is against `grep -F -o -f` on the same corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT

KEFU_BENCH_CORPUS_DIR="$corpus" cargo bench ${BENCH_PROFILE:+--profile "$BENCH_PROFILE"} --bench compliance -- \
    --warm-up-time 1 --measurement-time 5 >"$corpus/criterion.log" 2>&1 || {
    cat "$corpus/criterion.log" >&2
    exit 1
}
# Criterion's mean time per iteration, in nanoseconds.
mean_ns() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
        "target/criterion/$1/new/estimates.json"
}

# Best of N wall-clock runs of a command, in seconds.
best_of() {
    local best="" start end t
    for _ in $(seq "$runs"); do
        start=$(date +%s.%N)
        "$@" >/dev/null || true
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}

for corpus_name in real chat dense; do
    dir="$corpus/$corpus_name"
    [ -d "$dir" ] || { echo "$corpus_name: not benched (see benches/compliance.rs)"; continue; }
    bytes=$(stat -c %s "$dir/input.txt")
    # -o lists every match, as the checker does; -c stops at the first match of each line.
    # LC_ALL=C: byte matching, grep's fastest mode.
    t_o=$(best_of sh -c "LC_ALL=C grep -F -o -f '$dir/terms.txt' '$dir/input.txt' | wc -l")
    t_c=$(best_of env LC_ALL=C grep -F -c -f "$dir/terms.txt" "$dir/input.txt")
    grep_mbs=$(echo "$bytes / $t_o / 1048576" | bc -l)
    grep_c_mbs=$(echo "$bytes / $t_c / 1048576" | bc -l)
    printf '\n%s: %d bytes, %d terms\n' "$corpus_name" "$bytes" "$(wc -l <"$dir/terms.txt")"
    printf '%-52s %8.1f MB/s   baseline\n' "grep -F -o -f terms | wc -l (best of $runs)" "$grep_mbs"
    printf '%-52s %8.1f MB/s   %6.2fx\n' "grep -F -c -f terms (first match per line)" "$grep_c_mbs" \
        "$(echo "$grep_c_mbs / $grep_mbs" | bc -l)"
    for id in aho_corasick_10k_terms_10mb/dfa_leftmost_longest \
        aho_corasick_10k_terms_10mb/contiguous_nfa_leftmost_longest \
        10k_terms_10mb/normalize 10k_terms_10mb/check 10k_terms_10mb/check_per_message \
        shipped_rules_10mb/check shipped_rules_10mb/check_per_message; do
        ns=$(mean_ns "${corpus_name}_$id")
        mbs=$(echo "$bytes / ($ns / 1000000000) / 1048576" | bc -l)
        printf '%-52s %8.1f MB/s   %6.2fx\n' "$id" "$mbs" "$(echo "$mbs / $grep_mbs" | bc -l)"
    done
done
