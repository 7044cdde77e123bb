#!/bin/bash
# vlreward GPU check driver (docs/GPU.md). Subcommands:
#   prepare          (dev machine) build the bundle, stage hf_baseline.py + the 2B config + a pruned
#                    fixture in .gpu/run, build the CUDA kit parts into .gpu/ if missing; print carries.
#   part1            (GPU run 1) unpack .gpu/part1.tar.xz (node + onnxruntime-node 1.29) into $VLR_KIT.
#   run [FLAGS...]   (GPU run 2+) unpack .gpu/part2.tar.xz (CUDA provider) if present, put the CUDA
#                    libraries on LD_LIBRARY_PATH, run the bundled check with FLAGS (see
#                    `gpu-check.sh run --help`), then hf_baseline.py for --hf MODES, merge everything
#                    into gpu-summary.json and, when $OUT is set, pack the results into $OUT.
#   merge [HF...]    merge $VLR_RESULTS/gpu-*.json (+ hf JSON files) into gpu-summary.json.
# Environment: VLR_KIT (default /opt/vlr-kit), VLR_RESULTS (default $VLR_KIT/results on the GPU
# machine, bench/results here), VLR_NODE / VLR_NODE_PATH to use another node / onnxruntime-node
# (e.g. this repo's 1.30 for a CPU dry run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
kit=${VLR_KIT:-/opt/vlr-kit}
stage="$repo/.gpu"
run_dir="$stage/run"
bundle="$run_dir/gpu-check.cjs"
say() { echo "[gpu-check.sh] $*" >&2; }

ort_dir_of() { echo "$1/onnxruntime-node/bin/napi-v6/linux/x64"; }

pick_node() {
  # The kit's node + onnxruntime-node unless VLR_NODE / VLR_NODE_PATH say otherwise.
  node_bin=${VLR_NODE:-}
  node_path=${VLR_NODE_PATH:-}
  if [[ -z $node_bin ]]; then
    if [[ -x $kit/bin/node ]]; then node_bin=$kit/bin/node; else node_bin=$(command -v node || true); fi
  fi
  if [[ -z $node_path ]]; then
    if [[ -d $kit/node_modules/onnxruntime-node ]]; then node_path=$kit/node_modules
    else node_path=$(cd "$repo" && dirname "$(dirname "$(readlink -f node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/package.json 2>/dev/null | head -1)")" 2>/dev/null || true); fi
  fi
  if [[ -z $node_bin || ! -x $node_bin ]]; then
    say "no node: GPU run 1 (part1) unpacks it to $kit/bin/node; the machine may have been released between runs (redo run 1, then run 2 at once)"; exit 3
  fi
  if [[ -z $node_path || ! -d $node_path/onnxruntime-node ]]; then
    say "no onnxruntime-node under NODE_PATH='$node_path' (run 1 unpacks part1 into $kit)"; exit 3
  fi
  # koffi (the ORT C API backend; CUDA training runs on it) travels in .gpu/run/node_modules.
  if [[ -d $run_dir/node_modules/koffi ]]; then node_path="$node_path:$run_dir/node_modules"; fi
}

cuda_libs() {
  # CUDA 13 runtime libraries from the pip nvidia-* packages PyTorch cu13 brings (../shared/gpu/README.md),
  # plus the usual system folders.
  local dirs=""
  if command -v python3 >/dev/null; then
    dirs=$(python3 - <<'PY' 2>/dev/null || true
import os
try:
    import nvidia
except Exception:
    raise SystemExit(0)
seen = []
for p in list(nvidia.__path__):
    for r, d, f in os.walk(p):
        if any(x.startswith(("libcudart.so", "libcublas", "libcurand", "libcudnn", "libcufft", "libnvrtc", "libnvJitLink")) for x in f):
            seen.append(r)
print(":".join(sorted(set(seen))))
PY
)
  fi
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64; do [[ -d $d ]] && dirs="$dirs:$d"; done
  export LD_LIBRARY_PATH="${dirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local missing=()
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10; do
    found=0
    IFS=: read -ra ds <<<"$LD_LIBRARY_PATH"
    for d in "${ds[@]}"; do [[ -n $d && -e $d/$lib ]] && found=1 && break; done
    [[ $found == 1 ]] || ldconfig -p 2>/dev/null | grep -q "$lib" && found=1 || true
    [[ $found == 1 ]] || missing+=("$lib")
  done
  if ((${#missing[@]})); then say "CUDA libraries not found: ${missing[*]} (install CUDA 13 runtime / pip nvidia-cublas, nvidia-cuda-runtime, nvidia-curand; or set LD_LIBRARY_PATH)"; fi
}

unpack() { # unpack FILE into the kit, once
  local f=$1 mark="$kit/.$(basename "$1").done"
  [[ -f $f ]] || return 0
  [[ -f $mark && $mark -nt $f ]] && return 0
  mkdir -p "$kit"
  say "unpacking $f into $kit"
  tar -C "$kit" -xJf "$f"
  touch "$mark"
}

cmd=${1:-run}
shift || true
case $cmd in
prepare)
  mkdir -p "$run_dir"
  (cd "$repo" && node scripts/gpu/build.mjs "$bundle")
  # koffi, external to the bundle: its JS and the linux_x64 native build only (1.6 MB).
  koffi=$(cd "$repo" && readlink -f node_modules/.pnpm/koffi@*/node_modules/koffi | head -1)
  rm -rf "$run_dir/node_modules/koffi" && mkdir -p "$run_dir/node_modules/koffi/build/koffi"
  cp "$koffi"/package.json "$koffi"/index.js "$koffi"/indirect.js "$run_dir/node_modules/koffi/"
  cp -r "$koffi/build/koffi/linux_x64" "$run_dir/node_modules/koffi/build/koffi/"
  shared=${VLR_SHARED:-$repo/../shared}
  if [[ -f $shared/gpu/hf_baseline.py ]]; then
    cp "$shared/gpu/hf_baseline.py" "$run_dir/"
    cp "$shared/models/qwen3-vl-2b-instruct.config.json" "$run_dir/" 2>/dev/null || say "no $shared/models/qwen3-vl-2b-instruct.config.json: hf_baseline.py will need --config"
  else say "no $shared/gpu/hf_baseline.py: the PyTorch baseline will be skipped"; fi
  fx=${VLR_FIXTURE:-$shared/fixtures/qwen3vl-tiny-a}
  if [[ -f $fx/outputs.safetensors ]]; then
    # Pruned (unused embedding rows zeroed) and xz-packed: ~40 MB -> ~2 MB, so it travels with part2.
    tmpfx=$(mktemp -d)
    node "$repo/scripts/gpu/prune-fixture.mjs" "$fx" "$tmpfx/fixture"
    tar -C "$tmpfx" -cJf "$run_dir/fixture.tar.xz" fixture
    rm -rf "$tmpfx" "$run_dir/fixture"
  else say "no fixture at $fx: the fixture part will be skipped"; fi
  if [[ ! -f $stage/part1.tar.xz || ! -f $stage/part2.tar.xz ]]; then
    if [[ -x $shared/gpu/make-cuda-kit.sh ]]; then bash "$shared/gpu/make-cuda-kit.sh" "$stage"; else say "no kit and no $shared/gpu/make-cuda-kit.sh"; fi
  fi
  du -sh "$run_dir" "$stage"/part*.tar.xz 2>/dev/null || true
  say "GPU run 1: carry ['.gpu/part1.tar.xz'], command: bash scripts/gpu/gpu-check.sh part1"
  say "GPU run 2 (right after): carry ['.gpu/part2.tar.xz', '.gpu/run'], timeout_s 600, command: VLR_HF_TIMEOUT=90 bash scripts/gpu/gpu-check.sh run --sizes tiny,mid,2b --modes lora,full --steps 3 --hf lora,full --budget-s 280 (docs/GPU.md)"
  ;;
part1)
  unpack "$stage/part1.tar.xz"
  unpack "$stage/part2.tar.xz"
  "$kit/bin/node" --version
  ;;
run)
  unpack "$stage/part1.tar.xz"
  unpack "$stage/part2.tar.xz"
  pick_node
  hf=lora,full
  args=()
  while (($#)); do
    case $1 in
      --hf) hf=$2; shift 2 ;;
      --hf=*) hf=${1#--hf=}; shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  have_device=0; for x in "${args[@]}"; do [[ $x == --device* ]] && have_device=1; done
  ((have_device)) || args=(--device cuda "${args[@]}")
  have_fx=0; for x in "${args[@]}"; do [[ $x == --fixture* ]] && have_fx=1; done
  if ((!have_fx)) && [[ -f $run_dir/fixture.tar.xz ]]; then
    fxdir=$(mktemp -d)
    tar -C "$fxdir" -xJf "$run_dir/fixture.tar.xz"
    args+=(--fixture "$fxdir/fixture")
  fi
  results=${VLR_RESULTS:-$kit/results}
  [[ -d $kit ]] || results=${VLR_RESULTS:-$repo/bench/results}
  mkdir -p "$results"
  [[ " ${args[*]} " == *" --device cpu "* ]] || cuda_libs
  [[ -f $bundle ]] || { say "no bundle at $bundle: run 'bash scripts/gpu/gpu-check.sh prepare' on the dev machine and carry .gpu/run"; exit 3; }
  say "node $("$node_bin" --version), NODE_PATH=$node_path, results in $results"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || say "nvidia-smi not available"
  # A directory with no node_modules above it: a local onnxruntime-node would shadow the kit's.
  work=$(mktemp -d)
  rc=0
  (cd "$work" && NODE_PATH=$node_path "$node_bin" "$bundle" --results "$results" "${args[@]}") || rc=$?
  say "check exited $rc"
  hf_files=()
  if [[ $hf != none && -f $run_dir/hf_baseline.py ]]; then
    if python3 -c 'import torch, transformers, peft' 2>/dev/null; then
      IFS=, read -ra modes <<<"$hf"
      for m in "${modes[@]}"; do
        say "hf_baseline.py --mode $m"
        (cd "$run_dir" && timeout "${VLR_HF_TIMEOUT:-200}" python3 hf_baseline.py --mode "$m" --config "$run_dir/qwen3-vl-2b-instruct.config.json" --text-tokens 64 --out "$results/hf-$m.json" >/dev/null) || say "hf_baseline.py --mode $m failed (exit $?)"
      done
    else say "python3 with torch + transformers + peft not found: PyTorch baseline skipped"; fi
  fi
  for f in "$results"/hf-*.json; do [[ -f $f ]] && hf_files+=("$f"); done
  (cd "$work" && NODE_PATH=$node_path "$node_bin" "$bundle" --merge --results "$results" "${hf_files[@]}") || say "merge failed"
  rm -rf "$work"
  if [[ -n ${OUT:-} ]]; then
    tar -C "$results" -czf "$OUT/gpu-results.tar.gz" .
    cp "$results/gpu-summary.json" "$OUT/" 2>/dev/null || true
    say "results packed into \$OUT/gpu-results.tar.gz"
  fi
  exit $rc
  ;;
merge)
  pick_node
  results=${VLR_RESULTS:-$repo/bench/results}
  [[ -f $bundle ]] || (cd "$repo" && node scripts/gpu/build.mjs "$bundle")
  NODE_PATH=$node_path "$node_bin" "$bundle" --merge --results "$results" "$@"
  ;;
*)
  sed -n '2,14p' "$0"; exit 2 ;;
esac
