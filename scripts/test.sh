#!/usr/bin/env bash
# The test command (README): on a Debian 12 machine, installs what the build and
# the tests need, configures a Release build in build/, builds it with -j2 and
# runs the whole suite (unit, property, packaging tests) with ctest.
#   scripts/test.sh            environment: BUILD_DIR (default build), JOBS (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh

# build-essential cmake: the toolchain; git: the FetchContent packaging test clones
# this checkout; gtest/gmock: unit tests; benchmark: bench/ (built, smoke-tested);
# nlohmann-json3-dev, libyaml-cpp-dev: the json and yaml components; mariadb-server,
# libmariadb-dev, libmariadbd-dev: the tests against private mariadbd servers
# (tests/mariadb.cmake) and the UDF example's server headers; libssl-dev: the dns
# component (HMAC); bind9, bind9-dnsutils: its tests against private named servers.
# libzstd-dev, zlib1g-dev, libsodium-dev: the binlog component (libsodium: MariaDB ed25519 login); mariadb-test-data: the MySQL 8.0.40 binlog
# /usr/share/mysql/mysql-test/std_data/mdev35643_mysql_80_binlog.000001 that test_binlog_files and
# test_binlog_stream read (every other file the tests read is in tests/data/).
# libcli11-dev: the programs' command-line parser (examples/, header-only).
# libnats-dev: the nats component (cnats); nats-server: its tests' private 3-node JetStream cluster.
# libsimdjson-dev: the JSON decode baseline of bench/ (rowcast-bench-codecs; never the library).
# iproute2, nftables: test_datagram's hosts made of network namespaces and its injected loss.
# libcpp-httplib-dev, libsystemd-dev, pkg-config: the daemon component (rowcastd: /metrics, sd_notify).
rowcast_need_packages build-essential cmake git \
    libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libyaml-cpp-dev \
    mariadb-server libmariadb-dev libmariadbd-dev libssl-dev bind9 bind9-dnsutils \
    libzstd-dev zlib1g-dev libsodium-dev mariadb-test-data libcli11-dev libnats-dev nats-server libsimdjson-dev iproute2 nftables \
    libcpp-httplib-dev libsystemd-dev pkg-config

build=${BUILD_DIR:-build}
jobs=${JOBS:-2}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$jobs"
cd "$build"
ctest --output-on-failure -j"$jobs"
