#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks (run as root from anywhere), then
# installs the workspace dependencies and builds every package.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
# Chromium drives the reward viewer's browser test (playwright-core, no browser download).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v pnpm >/dev/null || npm i -g pnpm@10 >/dev/null
# onnxruntime-node's install script downloads CUDA binaries; the CPU (and Linux WebGPU)
# binaries are inside the npm package, so skip it (docs/GPU.md covers the CUDA variant).
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
