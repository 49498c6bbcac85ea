#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target of fuzz/cargo-fuzz
# with $SANITIZER, plus <target>_seed_corpus.zip (seeds from vectors/ and
# fuzz/regressions/), into $OUT.
exec "$SRC/blindsync/fuzz/oss-fuzz-build.sh"
