// Test support: a loopback port for a server the test starts (mariadbd, named, nats-server).
//
// The port is taken below the kernel's ephemeral range (net.ipv4.ip_local_port_range), so no
// outgoing connection of a test running in parallel can be given it between the check here and
// the server's own bind (the race that "bind port 0, close, start the server" has: seen as
// mariadbd failing with "Address already in use" under ctest -j2). Candidates are drawn at random
// from [10000, low end of the ephemeral range) and kept only if both TCP and UDP can bind them on
// 127.0.0.1 now; a collision between two tests drawing the same port is then improbable, and the
// servers' start-up reports it clearly if it happens.
#pragma once

#include <cstdint>
#include <fstream>
#include <random>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rowcast::test {

namespace free_port_detail {
inline bool can_bind(int type, unsigned port) {
    const int s = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}
}  // namespace free_port_detail

/// A port free now for TCP and UDP on 127.0.0.1, outside the ephemeral range. Throws when none is found.
inline unsigned free_port() {
    unsigned low = 32768;
    if (std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range"); in) in >> low;
    const unsigned first = 10000;
    if (low <= first + 100) low = 65000;  // an unusual range: fall back to a fixed band
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<unsigned> pick(first, low - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
        const unsigned p = pick(rng);
        if (free_port_detail::can_bind(SOCK_STREAM, p) && free_port_detail::can_bind(SOCK_DGRAM, p)) return p;
    }
    throw std::runtime_error("cannot find a free loopback port below the ephemeral range");
}

}  // namespace rowcast::test
