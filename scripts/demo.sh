#!/usr/bin/env bash
# The main-job command (README): on a Debian 12 machine, installs what the demo
# needs, builds examples/demo (target rowcast-demo) in build-demo/ and runs it.
# The demo prints one event in every codec and checks each round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh

rowcast_need_packages build-essential cmake nlohmann-json3-dev libyaml-cpp-dev

build=${BUILD_DIR:-build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DROWCAST_BUILD_EXAMPLES=ON -DROWCAST_BUILD_TESTS=OFF -DROWCAST_BUILD_BENCH=OFF -DROWCAST_INSTALL=OFF
cmake --build "$build" -j"${JOBS:-2}" --target rowcast-demo
"$build/examples/rowcast-demo"
