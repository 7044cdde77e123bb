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
# Open MPI: the MPI collective (@vlreward/graph/distributed) and its mpirun tests.
command -v mpirun >/dev/null || need+=(openmpi-bin libopenmpi-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Software Vulkan GPUs for ORT's WebGPU provider (Dawn), so CI runs the GPU tests
# without a GPU (docs/GPU.md): SwiftShader (fp32) ships inside chromium; Mesa's
# lavapipe adds shader-f16 (the fp16 tests) but Dawn rejects Mesa < 25, which on
# bookworm means its backports suite, added with the URI the machine already uses.
if [ -r /etc/os-release ]; then
  . /etc/os-release
  mesa=$(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if ! dpkg -s libvulkan1 >/dev/null 2>&1 || [ "${mesa%%.*}" -lt 25 ] 2>/dev/null || [ -z "$mesa" ]; then
    suite=()
    if [ "${VERSION_CODENAME:-}" = bookworm ]; then
      list=/etc/apt/sources.list.d/vlreward-backports.sources
      if [ ! -e "$list" ]; then
        # The first URI serving the plain suite (deb822 .sources, else one-line sources.list).
        uri=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="bookworm") {print u; exit}}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
        [ -n "$uri" ] || uri=$(sed 's/\[[^]]*\]//' /etc/apt/sources.list 2>/dev/null | awk '$1=="deb" && $3=="bookworm" {print $2; exit}' || true)
        [ -n "$uri" ] || { echo "setup: no apt source for bookworm to derive bookworm-backports from" >&2; exit 1; }
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$list"
      fi
      suite=(-t bookworm-backports)
    fi
    apt-get update -qq
    apt-get install -y -qq libvulkan1 >/dev/null
    apt-get install -y -qq "${suite[@]}" mesa-vulkan-drivers >/dev/null
  fi
fi
command -v pnpm >/dev/null || npm i -g pnpm@10 >/dev/null
# onnxruntime-node's install script downloads CUDA binaries; the CPU (and Linux WebGPU)
# binaries are inside the npm package, so skip it (docs/GPU.md covers the CUDA variant).
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
# The `vlreward` command on PATH: a launcher in /usr/local/bin (VLREWARD_BIN_DIR) running the build above.
bash scripts/install-vlreward.sh "${VLREWARD_BIN_DIR:-/usr/local/bin}" || echo "setup: vlreward is not on PATH (see above); run it as node packages/cli/dist/main.js" >&2
