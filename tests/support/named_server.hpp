// Test support: a private BIND `named` per test, on a free loopback port.
//
// `named_server` creates a temporary directory, generates TSIG keys with
// tsig-keygen (by default one hmac-sha256 key "rowcast-key", plus any extra
// keys asked for), writes named.conf (listen-on 127.0.0.1 port P only, no
// IPv6, recursion/notify/DNSSEC validation off, every path inside the folder)
// and five primary zones:
//   example.test                forward zone, update-policy grants each key zonesub A AAAA
//   other.test                  a second forward zone (hosts moving between zones), the same policy
//   2.0.192.in-addr.arpa        IPv4 reverse zone (192.0.2.0/24), zonesub PTR
//   10.in-addr.arpa             IPv4 reverse zone (10.0.0.0/8, for bulk tests), zonesub PTR
//   8.b.d.0.1.0.0.2.ip6.arpa    IPv6 reverse zone (2001:db8::/32), zonesub PTR
// then starts `named -f -4 -c named.conf` and waits (liveness guard, no timed
// assertion) until it answers an SOA query through dig. The destructor stops it
// with SIGTERM (SIGKILL after a minute) and removes the directory.
//
// Helpers: dig(name, type) returns the +short answer lines (sorted), axfr(zone)
// the zone's records as "name type rdata" lines (sorted, SOA/NS left out), soa_serial(),
// key_file() (the tsig-keygen output of a key, BIND format).
//
// Thread-safety: one test thread per server object.
#pragma once

#include "free_port.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rowcast::test {

struct named_key_spec {
    std::string name;
    std::string algorithm = "hmac-sha256";
};

struct named_server_options {
    /// Keys generated and granted update rights (the first is the default key).
    std::vector<named_key_spec> keys{{"rowcast-key", "hmac-sha256"}};
    /// Extra records for the forward zone file (relative to example.test), e.g. "alias CNAME target".
    std::vector<std::string> forward_records;
    /// Extra records for the second forward zone (relative to other.test).
    std::vector<std::string> other_records;
};

class named_server {
public:
    static constexpr const char* forward_zone = "example.test";
    static constexpr const char* other_zone = "other.test";
    static constexpr const char* reverse4_zone = "2.0.192.in-addr.arpa";
    static constexpr const char* reverse6_zone = "8.b.d.0.1.0.0.2.ip6.arpa";
    static constexpr const char* reverse10_zone = "10.in-addr.arpa";

    explicit named_server(named_server_options opt = {}) : dir_("rowcast-named"), opt_(std::move(opt)) {
        std::filesystem::create_directories(dir_.path() / "zones");
        for (const auto& k : opt_.keys) {
            const auto f = key_file(k.name);
            if (int rc = run({"/usr/sbin/tsig-keygen", "-a", k.algorithm, k.name}, f); rc != 0)
                throw std::runtime_error("tsig-keygen failed for " + k.name);
        }
        port_ = free_port();
        write_zones();
        write_config();
        start();
    }
    named_server(const named_server&) = delete;
    named_server& operator=(const named_server&) = delete;
    ~named_server() { stop(); }

    const std::filesystem::path& dir() const noexcept { return dir_.path(); }
    unsigned port() const noexcept { return port_; }
    pid_t pid() const noexcept { return named_.pid(); }
    std::filesystem::path key_file(const std::string& name = "rowcast-key") const {
        return dir_.path() / ("key-" + name + ".conf");
    }
    std::string key_text(const std::string& name = "rowcast-key") const { return slurp(key_file(name)); }
    std::filesystem::path log_file() const { return dir_.path() / "named.log"; }

    /// dig @127.0.0.1 -p P NAME TYPE +short, lines sorted (trailing dots kept).
    std::vector<std::string> dig(const std::string& name, const std::string& type) const {
        const auto out = dir_.path() / "dig.out";
        std::filesystem::remove(out);
        run({"/usr/bin/dig", "@127.0.0.1", "-p", std::to_string(port_), "+short", "+norecurse", "+time=2",
             "+tries=3", name, type},
            out);
        std::vector<std::string> lines;
        std::istringstream in(slurp(out));
        for (std::string l; std::getline(in, l);)
            if (!l.empty() && l[0] != ';') lines.push_back(l);
        std::sort(lines.begin(), lines.end());
        return lines;
    }

    /// Every record of the zone except SOA and NS, as "owner. TYPE rdata" (lower case owner), sorted.
    std::vector<std::string> axfr(const std::string& zone) const {
        const auto out = dir_.path() / "axfr.out";
        std::filesystem::remove(out);
        run({"/usr/bin/dig", "@127.0.0.1", "-p", std::to_string(port_), "+noall", "+answer", "+nottlid", "+time=5",
             "+tries=2", zone, "AXFR"},
            out);
        std::vector<std::string> lines;
        std::istringstream in(slurp(out));
        for (std::string l; std::getline(in, l);) {
            std::istringstream f(l);
            std::string owner, klass, type, rest, w;
            if (!(f >> owner >> klass >> type)) continue;
            if (type == "SOA" || type == "NS") continue;
            while (f >> w) rest += (rest.empty() ? "" : " ") + w;
            for (auto& c : owner) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            lines.push_back(owner + " " + type + " " + rest);
        }
        std::sort(lines.begin(), lines.end());
        return lines;
    }

    /// The zone's SOA serial (0 if no answer).
    unsigned long soa_serial(const std::string& zone = forward_zone) const {
        auto l = dig(zone, "SOA");
        if (l.empty()) return 0;
        std::istringstream in(l[0]);
        std::string mname, rname;
        unsigned long serial = 0;
        in >> mname >> rname >> serial;
        return serial;
    }

    bool alive() noexcept { return named_.running(); }

    /// SIGTERM, wait; SIGKILL after 60 s.
    void stop() noexcept { named_.stop(); }

    std::string log_tail() const {
        std::string s = slurp(log_file());
        return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
    }

private:
    static std::string slurp(const std::filesystem::path& p) {
        std::ifstream in(p);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }


    void write_zones() const {
        auto zone = [&](const char* name, const std::vector<std::string>& extra) {
            std::ofstream z(dir_.path() / "zones" / (std::string(name) + ".zone"));
            z << "$TTL 300\n@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n"
              << "@ IN NS ns.example.test.\n";
            if (std::string(name) == forward_zone) z << "ns IN A 127.0.0.1\n";
            for (const auto& r : extra) z << r << "\n";
        };
        zone(forward_zone, opt_.forward_records);
        zone(other_zone, opt_.other_records);
        zone(reverse4_zone, {});
        zone(reverse6_zone, {});
        zone(reverse10_zone, {});
    }

    void write_config() const {
        const std::string d = dir_.path().string();
        std::ofstream c(dir_.path() / "named.conf");
        for (const auto& k : opt_.keys) c << "include \"" << key_file(k.name).string() << "\";\n";
        c << "options {\n"
          << "  directory \"" << d << "\";\n"
          << "  pid-file \"" << d << "/named.pid\";\n"
          << "  session-keyfile \"" << d << "/session.key\";\n"
          << "  managed-keys-directory \"" << d << "\";\n"
          << "  listen-on port " << port_ << " { 127.0.0.1; };\n"
          << "  listen-on-v6 { none; };\n"
          << "  recursion no;\n  notify no;\n  dnssec-validation no;\n"
          << "};\n";
        auto zone = [&](const char* name, const char* types) {
            c << "zone \"" << name << "\" {\n  type primary;\n  file \"" << d << "/zones/" << name << ".zone\";\n"
              << "  update-policy {\n";
            for (const auto& k : opt_.keys) c << "    grant " << k.name << " zonesub " << types << ";\n";
            c << "  };\n};\n";
        };
        zone(forward_zone, "A AAAA");
        zone(other_zone, "A AAAA");
        zone(reverse4_zone, "PTR");
        zone(reverse6_zone, "PTR");
        zone(reverse10_zone, "PTR");
    }

    // Runs a program to completion, stdout+stderr to `out`; returns its exit status.
    static int run(const std::vector<std::string>& argv, const std::filesystem::path& out) {
        return run_process({argv, {}, out, {}});
    }

    void start() {
        named_ = process::start({{"/usr/sbin/named", "-f", "-4", "-c", (dir_.path() / "named.conf").string()}, {}, log_file(), {}});
        // Liveness guard only: give up after ~120 s.
        for (int i = 0; i < 600; ++i) {
            if (!alive()) throw std::runtime_error("named exited during startup:\n" + log_tail());
            if (!dig(forward_zone, "SOA").empty()) return;
            ::usleep(50000);
        }
        stop();
        throw std::runtime_error("named did not answer an SOA query:\n" + log_tail());
    }

    temp_dir dir_;
    named_server_options opt_;
    unsigned port_ = 0;
    process named_;
};

}  // namespace rowcast::test
