#!/usr/bin/env bash
# Debian packages the tests use: Python gRPC (a second gRPC implementation, with
# protoc and its Python plugin to generate stubs from proto/). Skips what is installed.
set -euo pipefail
packages=(python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
