// Test support: a private NATS JetStream cluster (nats-server from Debian's
// nats-server package) on free loopback ports, with private store directories.
//
//   rowcast::test::nats_cluster c(3);       // 3 servers, one route mesh, JetStream on each
//   c.urls();                               // {"nats://127.0.0.1:P1", ...}
//   c.kill(1); c.restart(1);                // SIGKILL one server; start it again on its ports/store
//
// The constructor writes one config file per server (server_name, listen, max_payload 8 MB, jetstream
// store_dir, cluster name/listen/routes), starts them and waits until JetStream
// answers on every server (a meta leader exists). It throws std::runtime_error when a
// server cannot be started or JetStream does not come up within 30 s (a liveness
// guard, not a timed assertion). The destructor stops them and removes the directory.
#pragma once

#include "support/free_port.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <rowcast/nats/connection.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rowcast::test {

class nats_cluster {
public:
    static constexpr const char* server_binary = "/usr/sbin/nats-server";

    explicit nats_cluster(int servers = 3) : dir_("rowcast-nats") {
        const auto ports = free_ports(2 * servers);
        for (int i = 0; i < servers; ++i) nodes_.push_back({ports[2 * i], ports[2 * i + 1], {}});
        for (int i = 0; i < servers; ++i) write_config(i);
        for (int i = 0; i < servers; ++i) start(i);
        wait_ready();
    }
    nats_cluster(const nats_cluster&) = delete;
    nats_cluster& operator=(const nats_cluster&) = delete;
    ~nats_cluster() {
        for (auto& n : nodes_) n.proc.stop(SIGTERM, std::chrono::seconds(10));
    }

    int size() const noexcept { return static_cast<int>(nodes_.size()); }
    std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(nodes_[i].port); }
    std::vector<std::string> urls() const {
        std::vector<std::string> v;
        for (int i = 0; i < size(); ++i) v.push_back(url(i));
        return v;
    }
    /// Connection options for every server of the cluster.
    nats::connection_options options() const {
        nats::connection_options o;
        o.servers = urls();
        o.connect_timeout = std::chrono::milliseconds(1000);
        o.reconnect_wait = std::chrono::milliseconds(100);
        return o;
    }

    /// SIGKILL of server i (its store stays).
    void kill(int i) {
        nodes_[i].proc.signal(SIGKILL);
        nodes_[i].proc.wait();
    }
    /// Starts server i again with its ports and store; waits until JetStream answers.
    void restart(int i) {
        start(i);
        wait_ready();
    }
    const std::filesystem::path& dir() const noexcept { return dir_.path(); }

private:
    struct node {
        unsigned port, cluster_port;
        process proc;
    };

    // n distinct ports from free_port.hpp (below the ephemeral range: a restarted server gets its
    // ports back even while other tests open connections).
    static std::vector<unsigned> free_ports(int n) {
        std::vector<unsigned> ports;
        while (static_cast<int>(ports.size()) < n) {
            const unsigned p = free_port();
            if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
        }
        return ports;
    }

    void write_config(int i) {
        const auto store = dir_.path() / ("n" + std::to_string(i));
        std::filesystem::create_directories(store);
        std::ofstream f(dir_.path() / ("n" + std::to_string(i) + ".conf"));
        f << "server_name: n" << i << "\n"
          << "listen: 127.0.0.1:" << nodes_[i].port << "\n"
          << "max_payload: 8MB\n"  // the fixture has a 1.1 MB event (the default is 1 MB)
          << "jetstream { store_dir: \"" << store.string() << "\" }\n";
        if (size() > 1) {
            f << "cluster {\n  name: rowcast-test\n  listen: 127.0.0.1:" << nodes_[i].cluster_port << "\n  routes: [\n";
            for (int j = 0; j < size(); ++j)
                if (j != i) f << "    nats-route://127.0.0.1:" << nodes_[j].cluster_port << "\n";
            f << "  ]\n}\n";
        }
    }

    void start(int i) {
        const auto base = dir_.path() / ("n" + std::to_string(i));
        nodes_[i].proc = process::start({.argv = {server_binary, "-c", base.string() + ".conf"},
                                         .stdout_file = base.string() + ".log"});
    }

    // Every server answers a JetStream account request (a meta leader was elected).
    void wait_ready() {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (int i = 0; i < size(); ++i) {
            for (;;) {
                if (ready(i)) break;
                if (std::chrono::steady_clock::now() > until)
                    throw std::runtime_error("nats cluster: JetStream on " + url(i) + " not ready within 30 s (see " +
                                             (dir_.path() / ("n" + std::to_string(i) + ".log")).string() + ")");
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
        // Every server answers, but the meta leader may not count all of them as placement peers
        // yet ("no suitable peers for placement" for a replicated stream, seen in CI right after the
        // start): ready once a stream with one replica per server can be made (and it is removed).
        if (size() < 2) return;
        for (;;) {
            if (place_probe()) return;
            if (std::chrono::steady_clock::now() > until)
                throw std::runtime_error("nats cluster: a stream with " + std::to_string(size()) +
                                         " replicas cannot be placed within 30 s (see " + dir_.path().string() + ")");
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    // A connection to `servers` that gives up at once, and its JetStream context (requests wait `wait_ms`).
    static bool probe_jetstream(std::vector<std::string> servers, int wait_ms, std::optional<nats::connection>& c,
                                std::optional<rowcast::detail::nats::js_ptr>& js) {
        nats::connection_options o;
        o.servers = std::move(servers);
        o.connect_timeout = std::chrono::milliseconds(500);
        o.max_reconnect = 0;
        auto conn = nats::connection::connect(o);
        if (!conn) return false;
        c.emplace(std::move(*conn));
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = wait_ms;
        auto j = c->jetstream(&jo);
        if (!j) return false;
        js.emplace(std::move(*j));
        return true;
    }
    bool place_probe() const {
        std::vector<std::string> all;
        for (int i = 0; i < size(); ++i) all.push_back(url(i));
        std::optional<nats::connection> c;
        std::optional<rowcast::detail::nats::js_ptr> js;
        if (!probe_jetstream(std::move(all), 1000, c, js)) return false;
        const char* subjects[] = {"rowcast-test-ready.probe"};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = "ROWCAST_TEST_READY";
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Replicas = size();
        cfg.Storage = js_MemoryStorage;
        jsStreamInfo* si = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_AddStream(&si, js->get(), &cfg, nullptr, &jerr);
        if (si) jsStreamInfo_Destroy(si);
        if (s != NATS_OK) return false;
        return js_DeleteStream(js->get(), "ROWCAST_TEST_READY", nullptr, &jerr) == NATS_OK;
    }
    bool ready(int i) const {
        std::optional<nats::connection> c;
        std::optional<rowcast::detail::nats::js_ptr> js;
        // 250 ms: before a meta leader exists a request gets no answer: ask again soon
        if (!probe_jetstream({url(i)}, 250, c, js)) return false;
        jsAccountInfo* ai = nullptr;
        const natsStatus s = js_GetAccountInfo(&ai, js->get(), nullptr, nullptr);
        if (ai) jsAccountInfo_Destroy(ai);
        return s == NATS_OK;
    }

    temp_dir dir_;
    std::vector<node> nodes_;
};

}  // namespace rowcast::test
