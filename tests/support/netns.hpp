// Test support: a small network of "hosts" made of network namespaces, for the
// datagram transports' multicast tests. netns_lab(n) creates, under a name prefix
// unique to this process and call ("rc<pid><k>"), a bridge namespace with a
// bridge (multicast snooping off) and n host namespaces, each with an eth0 (a veth
// whose peer is a bridge port) addressed 10.77.0.<i+1>/24 and fd77::<i+1>/64 and a
// route for 224.0.0.0/4. The destructor deletes every namespace it made (which
// removes the veths and the bridge), also when a test fails; namespaces left by an
// earlier process killed before its destructors ran (its pid gone) are removed first. loss() adds an
// nftables rule in a host dropping a random share of the UDP datagrams to a port.
// in(i, f) runs f on a thread that entered host i's namespace: sockets made there
// stay in it and may then be used from any thread. Needs root (CAP_SYS_ADMIN,
// CAP_NET_ADMIN), iproute2 and nftables; available() says whether it can run.
#pragma once

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace rowcast::test {

class netns_lab {
public:
    static bool available() {
        return ::geteuid() == 0 && std::system("command -v ip >/dev/null 2>&1 && command -v nft >/dev/null 2>&1") == 0;
    }

    explicit netns_lab(int hosts) {
        static std::atomic<int> counter{0};
        if (counter == 0) remove_stale();
        prefix_ = "rc" + std::to_string(::getpid()) + "x" + std::to_string(counter++);
        try {
            bridge_ = prefix_ + "b";
            add_ns(bridge_);
            sh("ip -n " + bridge_ + " link add br0 type bridge mcast_snooping 0 && ip -n " + bridge_ + " link set br0 up");
            for (int i = 0; i < hosts; ++i) {
                const std::string h = prefix_ + "h" + std::to_string(i), p = "p" + std::to_string(i);
                add_ns(h);
                hosts_.push_back(h);
                sh("ip -n " + bridge_ + " link add " + p + " type veth peer name eth0 netns " + h);
                sh("ip -n " + bridge_ + " link set " + p + " master br0 up");
                sh("ip -n " + h + " link set lo up && ip -n " + h + " link set eth0 up && ip -n " + h + " addr add 10.77.0." +
                   std::to_string(i + 1) + "/24 dev eth0 && ip -n " + h + " -6 addr add fd77::" + std::to_string(i + 1) +
                   "/64 dev eth0 nodad && ip -n " + h + " route add 224.0.0.0/4 dev eth0");
            }
        } catch (...) {
            remove();
            throw;
        }
    }
    netns_lab(const netns_lab&) = delete;
    netns_lab& operator=(const netns_lab&) = delete;
    ~netns_lab() { remove(); }

    const std::string& host(int i) const { return hosts_.at(static_cast<std::size_t>(i)); }

    /// Drops `percent` % of the UDP datagrams arriving at host i for destination port `port`.
    void loss(int i, unsigned port, int percent) {
        sh("ip netns exec " + host(i) + " nft -f - <<'NFT'\ntable inet rcloss {\n chain in {\n  type filter hook input priority 0;\n  udp dport " +
           std::to_string(port) + " numgen random mod 100 < " + std::to_string(percent) + " drop\n }\n}\nNFT");
    }
    void clear_loss(int i) { sh("ip netns exec " + host(i) + " nft delete table inet rcloss"); }

    /// Runs f() in host i's network namespace (on a helper thread) and returns its result.
    template <class F>
    auto in(int i, F f) {
        return in_ns(host(i), std::move(f));
    }
    template <class F>
    static auto in_ns(const std::string& ns, F f) {
        std::optional<decltype(f())> out;
        std::string err;
        std::thread t([&] {
            const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
                err = "cannot enter " + ns;
                if (fd >= 0) ::close(fd);
                return;
            }
            ::close(fd);
            out.emplace(f());
        });
        t.join();
        if (!out) throw std::runtime_error(err);
        return std::move(*out);
    }

private:
    // Namespaces of an earlier run killed before its destructors ran ("rc<pid>x…" of a dead pid).
    static void remove_stale() noexcept {
        std::error_code ec;
        for (const auto& f : std::filesystem::directory_iterator("/run/netns", ec)) {
            const std::string n = f.path().filename().string();
            const auto x = n.find('x');
            if (n.rfind("rc", 0) != 0 || x == std::string::npos || x < 3) continue;
            const std::string pid = n.substr(2, x - 2);
            if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
            if (std::filesystem::exists("/proc/" + pid, ec)) continue;
            const std::string cmd = "ip netns del " + n + " 2>/dev/null";
            [[maybe_unused]] const int r = std::system(cmd.c_str());
        }
    }
    static void sh(const std::string& cmd) {
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("netns_lab: failed: " + cmd);
    }
    void add_ns(const std::string& n) {
        sh("ip netns add " + n);
        made_.push_back(n);
    }
    void remove() noexcept {
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
            const std::string cmd = "ip netns del " + *it + " 2>/dev/null";
            [[maybe_unused]] const int r = std::system(cmd.c_str());
        }
        made_.clear();
    }

    std::string prefix_, bridge_;
    std::vector<std::string> hosts_, made_;
};

}  // namespace rowcast::test
