#!/usr/bin/env bash
# Installs every package topicwire needs to build and test on Debian 12 (bookworm).
# Non-interactive; works as root or through sudo; does nothing when all are installed already.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config
  # libraries (find_package / pkg_check_modules in the CMakeLists.txt files)
  libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler libabsl-dev libspdlog-dev
  libsqlite3-dev libvectorscan-dev prometheus-cpp-dev libcivetweb-dev libssl-dev libopencc-dev
  zlib1g-dev
  # tests and benchmarks (python3-zmq and python3-protobuf: the other-language client test)
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-zmq python3-protobuf
  # the sanitizer and fuzz build (scripts/sanitize.sh, scripts/fuzz.sh): clang and libFuzzer
  clang-14 libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "setup-debian: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
