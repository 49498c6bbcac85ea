#!/usr/bin/env bash
# OSS-Fuzz / ClusterFuzzLite build script (their `build.sh`): builds every
# cargo-fuzz target of fuzz/cargo-fuzz with the sanitizer the platform asks
# for and copies the binaries, seed corpora and options into $OUT.
#
#   ClusterFuzzLite: .clusterfuzzlite/build.sh is `exec fuzz/oss-fuzz-build.sh`
#   (base image gcr.io/oss-fuzz-base/base-builder-rust, which sets $SRC, $OUT
#   and the sanitizer flags). Locally: OUT=/tmp/out fuzz/oss-fuzz-build.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
cd "$root"

# Seed corpora from vectors/ (plain build, outside the instrumented one).
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
cargo run --quiet -p blindsync-fuzz --features cli --bin gen-corpus -- --out "$corpus"
mapfile -t targets < <(cargo run --quiet -p blindsync-fuzz --features cli --bin gen-corpus -- --list)

# Instrumented build. OSS-Fuzz's base-builder-rust has a nightly toolchain
# and sets the sanitizer through $SANITIZER; elsewhere, stable with no sanitizer.
sanitizer="${SANITIZER:-none}"
if ! rustc --version | grep -q nightly; then
  [ "$sanitizer" = none ] || export RUSTC_BOOTSTRAP=1
fi
cd fuzz/cargo-fuzz
cargo fuzz build -O --fuzz-dir . -s "$sanitizer"
bin_dir="${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release"
for t in "${targets[@]}"; do
  cp "$bin_dir/$t" "$OUT/$t"
  (cd "$corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .) || true
  if [ -d "$root/fuzz/regressions/$t" ]; then
    (cd "$root/fuzz/regressions/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
done
echo "built ${#targets[@]} targets into $OUT"
