#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run them.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Mesa's EGL (software OpenGL, no GPU needed), Xvfb and xdotool for the
# real-window tests. Installed only when missing, and only where we may (root or sudo).
need=()
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri libglx-mesa0 xvfb xauth xdotool; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing system packages: ${need[*]}"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# torch is only the reference the optimizer tests compare against: not a runtime dependency.
.venv/bin/python -c "import torch" 2>/dev/null \
    || .venv/bin/python -m pip install -q torch==2.13.0

.venv/bin/python -m pytest "$@"
