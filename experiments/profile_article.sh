#!/usr/bin/env bash
# Profile the source article's four models (cnn, rnn, lstm, gan) with `schedbench profile` and merge the
# entries into the project's measurements layer, schedbench/data/profiled.json (docs/profile.md).
#
#   experiments/profile_article.sh cpu    # the CPU entries shipped in profiled.json (1 torch thread: see docs)
#   experiments/profile_article.sh cuda   # for a session with a GPU: NOT RUN YET (no GPU was available)
#
# Needs the profile extra (torch). Entries are also kept in build/profile/<device>/ for inspection.
set -euo pipefail
device="${1:?usage: $0 cpu|cuda[:N]}"
sb="${SCHEDBENCH:-schedbench}"
out="build/profile/${device//:/-}"
mkdir -p "$out"
if [[ "$device" == cpu ]]; then
  # On a shared machine torch's default of one thread per core collapses under load (its OpenMP
  # threads wait for each other); one thread measures the model, not the contention.
  args=(--device cpu --threads 1 --steps 30 --warmup 5)
  sizes=(16 32 64)
else
  args=(--device "$device" --steps 100 --warmup 20)
  sizes=(32 64 128 256)
fi
bs=()
for b in "${sizes[@]}"; do bs+=(-b "$b"); done
for model in cnn rnn lstm gan; do
  "$sb" profile "$model" "${args[@]}" "${bs[@]}" -o "$out/$model.json"
done
# --replace: a new run of the same model, batch size and device replaces the earlier figures
"$sb" catalogue merge "$out"/{cnn,rnn,lstm,gan}.json --into schedbench/data/profiled.json --replace
