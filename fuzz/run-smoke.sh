#!/usr/bin/env bash
# Bounded smoke campaign over every fuzz target (CI calls this).
#
#   fuzz/run-smoke.sh                 # engine picked automatically (below)
#   FUZZ_ENGINE=test fuzz/run-smoke.sh       # bolero's random engine under cargo test
#   FUZZ_ENGINE=libfuzzer fuzz/run-smoke.sh  # libFuzzer through cargo-bolero
#   FUZZ_SECONDS=30 FUZZ_ENGINE=libfuzzer fuzz/run-smoke.sh TARGET...
#
# auto: libFuzzer when cargo-bolero is installed, else the test engine.
# The test engine runs BOLERO_RANDOM_ITERATIONS (default 200000) random
# inputs per target (a tenth for the slow targets in $SLOW_TARGETS, or
# FUZZ_SLOW_ITERATIONS), then the seeds, regressions/ and corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
engine="${FUZZ_ENGINE:-auto}"
seconds="${FUZZ_SECONDS:-5}"
SLOW_TARGETS="stream_open stream_roundtrip sync_ops pairing_accept"
if [ "$engine" = auto ]; then
  if command -v cargo-bolero >/dev/null 2>&1; then engine=libfuzzer; else engine=test; fi
fi

echo "fuzz smoke: seed corpora from vectors/"
cargo run --quiet -p blindsync-fuzz --features cli --bin gen-corpus
mapfile -t all < <(cargo run --quiet -p blindsync-fuzz --features cli --bin gen-corpus -- --list)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

case "$engine" in
  test)
    export BOLERO_RANDOM_ITERATIONS="${BOLERO_RANDOM_ITERATIONS:-200000}"
    # Targets that seal and open whole streams or run operation sequences cost
    # milliseconds per input in the unoptimised test build: a tenth of the inputs.
    slow_iterations="${FUZZ_SLOW_ITERATIONS:-$(( BOLERO_RANDOM_ITERATIONS / 10 ))}"
    fast=() slow=()
    for t in "${targets[@]}"; do
      case " $SLOW_TARGETS " in
        *" $t "*) slow+=("$t") ;;
        *) fast+=("$t") ;;
      esac
    done
    echo "fuzz smoke: bolero test engine, $BOLERO_RANDOM_ITERATIONS random inputs per target ($slow_iterations for ${slow[*]:-none})"
    # The bolero tests plus the seed, regression and corpus replays.
    cargo test -p blindsync-fuzz --test targets -- --exact "${fast[@]}" seeds_from_vectors regressions_and_corpus registry_matches_files
    if [ ${#slow[@]} -gt 0 ]; then
      BOLERO_RANDOM_ITERATIONS="$slow_iterations" cargo test -p blindsync-fuzz --test targets -- --exact "${slow[@]}"
    fi
    ;;
  libfuzzer)
    # cargo-bolero needs its own target dir (instrumented build).
    tdir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/bolero}"
    sanitizer=(--sanitizer NONE)
    [ "${FUZZ_ASAN:-0}" = 1 ] && sanitizer=(--rustc-bootstrap)
    for t in "${targets[@]}"; do
      echo "fuzz smoke: $t under libFuzzer for ${seconds}s"
      mkdir -p "fuzz/artifacts/$t"
      cargo bolero test "$t" -p blindsync-fuzz --engine libfuzzer "${sanitizer[@]}" -T "${seconds}s" \
        --target-dir "$tdir" --corpus-dir "fuzz/corpus/$t" --crashes-dir "fuzz/artifacts/$t" 2>&1 |
        grep -E '^#[0-9]+ +(INITED|DONE)|ERROR|panicked|SUMMARY|Test unit written' || true
      if [ -n "$(ls -A "fuzz/artifacts/$t" 2>/dev/null)" ]; then
        echo "fuzz smoke: $t FAILED; inputs in fuzz/artifacts/$t"; exit 1
      fi
    done
    # Replays what libFuzzer added to the corpus through the plain test build.
    cargo test -p blindsync-fuzz --test targets -- seeds_from_vectors regressions_and_corpus
    ;;
  *) echo "unknown FUZZ_ENGINE=$engine (auto, test, libfuzzer)"; exit 2 ;;
esac
echo "fuzz smoke: ${#targets[@]} targets passed ($engine)"
