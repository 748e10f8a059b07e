# Runs one fuzz target briefly, as a TAP test (sourced by bindings.sh,
# rules.sh and crl_index.sh, run by `make check` from the top build directory): the seed corpus,
# then new inputs for at most FUZZ_RUNS runs or FUZZ_SECONDS seconds, whichever
# ends first. Skipped when configure found no clang++ with libFuzzer.
# A crashing input is kept as tests/fuzz/<target>-crash-<sha1>; to add it to
# the seeds (a regression input), copy it into tests/fuzz/corpus/<name>/.
set -u

short_run() {
    target=$1 name=$2 max_len=$3
    if [ "${CARDGATE_FUZZ:-no}" != yes ]; then
        echo "1..0 # SKIP clang++ with libFuzzer not found by configure (Debian: clang, libclang-rt-14-dev)"
        exit 0
    fi
    bin=tests/fuzz/$target
    seeds=${CARDGATE_SRCDIR:?}/tests/fuzz/corpus/$name
    work=$(mktemp -d "${TMPDIR:-/tmp}/cardgate-fuzz-check.XXXXXX") || exit 1
    trap 'rm -rf "$work"' EXIT
    mkdir "$work/corpus"
    echo "1..1"
    # New inputs go to the first directory (scratch), never into the source tree.
    "$bin" -runs="${FUZZ_RUNS:-20000}" -max_total_time="${FUZZ_SECONDS:-10}" -timeout=10 \
        -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="tests/fuzz/$target-" "$work/corpus" "$seeds" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
    if [ "$rc" -eq 0 ]; then
        echo "ok 1 - $target: ${execs:-?} inputs, ${speed:-?}/s, no crash"
    else
        echo "not ok 1 - $target exited with status $rc"
        grep -m 1 -A 24 'invariant violated\|ERROR: \|runtime error' "$work/log" | cut -c 1-240 | sed 's/^/# /'
        ls tests/fuzz/"$target"-* 2>/dev/null | sed 's/^/# input kept: /'
    fi
}
