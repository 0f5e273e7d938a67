// Test support: a single Spread daemon's client side, for tests and benchmarks of
// rowcast::spread. Written from the protocol description (docs/spread.md, "Protocol";
// origin: the project's notes on the Spread 5.0.1 client-daemon protocol, checked against
// a real daemon), not from rowcast's client: its own parser and encoder below.
//
// What it does: listens on 127.0.0.1:<free port> (and optionally a Unix socket); the
// connect handshake (version >= 3.15 with patch byte, flags, private name rules, unique
// names, the NULL authentication method, the accept message); join/leave/kill with
// membership messages (regular membership with one vs-set of the changed member, self-leave);
// multicast of the six service types, SELF_DISCARD, private-group destinations; one order of
// delivery for every member (one thread handles every message in arrival order); each message
// delivered once to a member however many of its groups it was sent to; a client message
// that breaks the daemon's validation closes that session. A message whose data + 32 bytes
// per group lies in the real daemon's crash window (143153..143952) sets crashed() and the
// daemon goes away (every session closed), as the real one would.
//
// Hostile mode: hostile_handshake(bytes) replaces the next handshake reply; inject(name, bytes)
// sends crafted bytes to a session (and may close it mid-message).
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include "free_port.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace rowcast::test {

struct spread_daemon_options {
    std::string name = "testd";  // the daemon name in private groups "#<priv>#<name>"
    unsigned port = 0;           // 0: free_port()
    std::string unix_path;       // non-empty: also listen on this Unix socket
};

class spread_daemon {
public:
    using options = spread_daemon_options;

    // Service and membership bits (protocol section 3).
    static constexpr std::uint32_t unreliable = 0x01, reliable = 0x02, fifo = 0x04, causal = 0x08, agreed = 0x10,
                                   safe = 0x20, self_discard = 0x40, marker = 0x80000080, caused_by_join = 0x100,
                                   caused_by_leave = 0x200, caused_by_disconnect = 0x400, reg_memb = 0x1000,
                                   transition = 0x2000, join = 0x10000, leave = 0x20000, kill = 0x40000;

    spread_daemon() : spread_daemon(options{}) {}
    explicit spread_daemon(options o) : opt_(std::move(o)) {
        if (opt_.port == 0) opt_.port = free_port();
        wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        start();
    }
    ~spread_daemon() {
        stop();
        ::close(wake_);
    }
    spread_daemon(const spread_daemon&) = delete;
    spread_daemon& operator=(const spread_daemon&) = delete;

    unsigned port() const { return opt_.port; }
    const std::string& name() const { return opt_.name; }

    // Listens (again, on the same port) and serves on a thread.
    void start() {
        if (thread_.joinable()) return;
        listen_tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1;
        ::setsockopt(listen_tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(opt_.port));
        if (::bind(listen_tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_tcp_, 64) != 0)
            throw std::runtime_error("spread_daemon: cannot listen on port " + std::to_string(opt_.port) + ": " + std::strerror(errno));
        if (!opt_.unix_path.empty()) {
            ::unlink(opt_.unix_path.c_str());
            listen_unix_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            sockaddr_un u{};
            u.sun_family = AF_UNIX;
            std::strncpy(u.sun_path, opt_.unix_path.c_str(), sizeof u.sun_path - 1);
            if (::bind(listen_unix_, reinterpret_cast<sockaddr*>(&u), sizeof u) != 0 || ::listen(listen_unix_, 64) != 0)
                throw std::runtime_error("spread_daemon: cannot listen on " + opt_.unix_path);
        }
        running_ = true;
        thread_ = std::thread([this] { loop(); });
    }

    // The daemon goes away: every session and the listening sockets are closed.
    void stop() {
        if (!thread_.joinable()) return;
        running_ = false;
        poke();
        thread_.join();
        std::lock_guard l(mu_);
        for (auto& s : sessions_) ::close(s->fd);
        sessions_.clear();
        groups_.clear();
        ::close(listen_tcp_);
        if (listen_unix_ >= 0) {
            ::close(listen_unix_);
            ::unlink(opt_.unix_path.c_str());
        }
        listen_tcp_ = listen_unix_ = -1;
    }

    // The next connection gets `bytes` once its connect message is in, instead of the handshake.
    void hostile_handshake(std::string bytes, bool close_after = true) {
        std::lock_guard l(mu_);
        hostile_hello_ = std::move(bytes);
        hostile_close_ = close_after;
    }
    // Sends `bytes` to the session of private name `priv`, then closes it if `close_after`.
    void inject(const std::string& priv, std::string bytes, bool close_after = false) {
        {
            std::lock_guard l(mu_);
            for (auto& s : sessions_)
                if (s->name == priv) {
                    s->out += bytes;
                    s->close_after_flush = s->close_after_flush || close_after;
                }
        }
        poke();
    }

    // A daemon -> client message in the daemon's byte order (little endian unless `big`):
    // header (type with marker, `sender`, groups, hint with mess_type, data_len), groups, data.
    static std::string frame(std::uint32_t type, const std::string& sender, const std::vector<std::string>& groups,
                             std::int16_t mess_type, const std::string& data, bool big = false) {
        std::string m;
        put(m, type | (big ? 0 : marker), big);
        put_name(m, sender);
        put(m, static_cast<std::uint32_t>(groups.size()), big);
        put(m, (static_cast<std::uint32_t>(static_cast<std::uint16_t>(mess_type)) << 8) | (big ? 0 : marker), big);
        put(m, static_cast<std::uint32_t>(data.size()), big);
        for (const auto& g : groups) put_name(m, g);
        return m + data;
    }
    static void put(std::string& m, std::uint32_t v, bool big = false) {
        for (int i = 0; i < 4; ++i) m += static_cast<char>((v >> (big ? 8 * (3 - i) : 8 * i)) & 0xff);
    }
    static void put_name(std::string& m, const std::string& n) {
        std::string slot = n.substr(0, 32);
        slot.resize(32, '\0');
        m += slot;
    }

    std::size_t sessions() const {
        std::lock_guard l(mu_);
        return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(), [](const auto& s) { return s->open; }));
    }
    std::vector<std::string> members(const std::string& group) const {
        std::lock_guard l(mu_);
        auto it = groups_.find(group);
        return it == groups_.end() ? std::vector<std::string>{} : std::vector<std::string>(it->second.begin(), it->second.end());
    }
    std::size_t max_message_size() const { return max_size_.load(); }  // data + 32 * groups, largest received
    bool crashed() const { return crashed_.load(); }
    std::uint64_t messages() const { return messages_.load(); }      // data messages received from clients
    std::uint64_t violations() const { return violations_.load(); }  // sessions closed for a bad message

    // Polls `pred` until it holds or `guard` passes (a liveness guard, not a timing assertion).
    static bool wait_for(const std::function<bool()>& pred, std::chrono::seconds guard = std::chrono::seconds(20)) {
        const auto until = std::chrono::steady_clock::now() + guard;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return true;
    }

private:
    struct session {
        int fd = -1;
        int stage = 0;  // 0 connect message, 1 auth choice, 2 messages
        bool open = false, membership = false, close_after_flush = false, dead = false;
        std::string name, pg, in, out;
        std::size_t used = 0;  // bytes of `in` already handled
    };

    void poke() {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
    }

    static std::uint32_t get(std::string_view s, std::size_t at, bool little) {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const auto b = static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]));
            v |= little ? b << (8 * i) : b << (8 * (3 - i));
        }
        return v;
    }
    static std::string slot(std::string_view s, std::size_t at) {
        const std::string_view n = s.substr(at, 32);
        return std::string(n.substr(0, n.find('\0')));
    }

    void loop() {
        while (running_) {
            std::vector<pollfd> fds{{wake_, POLLIN, 0}, {listen_tcp_, POLLIN, 0}};
            if (listen_unix_ >= 0) fds.push_back({listen_unix_, POLLIN, 0});
            const std::size_t first = fds.size();
            {
                std::lock_guard l(mu_);
                for (auto& s : sessions_) fds.push_back({s->fd, static_cast<short>(POLLIN | (s->out.empty() ? 0 : POLLOUT)), 0});
            }
            if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) return;
            std::uint64_t drained = 0;
            [[maybe_unused]] auto n = ::read(wake_, &drained, sizeof drained);
            std::lock_guard l(mu_);
            for (std::size_t i = 1; i < first; ++i)
                if (fds[i].revents & POLLIN) accept_on(fds[i].fd);
            for (std::size_t i = first; i < fds.size(); ++i) {
                auto it = std::find_if(sessions_.begin(), sessions_.end(), [&](const auto& s) { return s->fd == fds[i].fd; });
                if (it == sessions_.end()) continue;
                session& s = **it;
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(s);
                if (crashed_) break;
            }
            if (crashed_) {  // the real daemon dies here
                for (auto& s : sessions_) ::close(s->fd);
                sessions_.clear();
                groups_.clear();
                running_ = false;
                return;
            }
            for (auto& s : sessions_) write_to(*s);
            for (auto it = sessions_.begin(); it != sessions_.end();) {
                if ((*it)->dead) {
                    ::close((*it)->fd);
                    it = sessions_.erase(it);
                } else {
                    ++it;
                }
            }
        }
    }

    void accept_on(int lfd) {
        for (;;) {
            const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto s = std::make_unique<session>();
            s->fd = fd;
            sessions_.push_back(std::move(s));
        }
    }

    void write_to(session& s) {
        while (!s.out.empty()) {
            const ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
                drop(s);
                return;
            }
            s.out.erase(0, static_cast<std::size_t>(n));
        }
        if (s.close_after_flush) drop(s);
    }

    void read_from(session& s) {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                s.in.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
            drop(s);  // EOF or reset: as a disconnect
            return;
        }
        while (!s.dead && !crashed_ && step(s)) {
        }
        s.in.erase(0, s.used);
        s.used = 0;
    }

    // One protocol step from s.in; false when more bytes are needed.
    bool step(session& s) {
        if (s.stage == 0) return hello(s);
        if (s.stage == 1) return auth(s);
        return client_message(s);
    }

    void reject(session& s, int code) {
        s.out += static_cast<char>(static_cast<signed char>(code));
        s.close_after_flush = true;
        s.stage = 3;
        s.in.clear();
    }

    bool hello(session& s) {
        if (s.in.size() < 5) return false;
        const int major = static_cast<unsigned char>(s.in[0]), minor = static_cast<unsigned char>(s.in[1]);
        if (major * 10000 + minor * 100 < 31500) {  // this test daemon speaks to >= 3.15 clients only
            reject(s, -7);
            return false;
        }
        const auto len = static_cast<signed char>(s.in[4]);
        if (len < 0 || len > 10) {
            reject(s, -5);
            return false;
        }
        if (s.in.size() < 5 + static_cast<std::size_t>(len)) return false;
        s.membership = (s.in[3] & 0x01) != 0;
        std::string nm = s.in.substr(5, static_cast<std::size_t>(len));
        s.in.erase(0, 5 + static_cast<std::size_t>(len));
        if (hostile_hello_) {
            s.out += *hostile_hello_;
            s.close_after_flush = hostile_close_;
            hostile_hello_.reset();
            s.stage = 3;
            return false;
        }
        for (unsigned char c : nm)
            if (c <= '#' || c > '~') {
                reject(s, -5);
                return false;
            }
        if (nm.empty()) nm = "r" + std::to_string(++invented_) + "-" + std::to_string(s.fd);
        for (auto& o : sessions_)
            if (o.get() != &s && o->open && o->name == nm) {
                reject(s, -6);
                return false;
            }
        s.name = nm;
        s.pg = "#" + nm + "#" + opt_.name;
        s.out += "\x05NULL ";
        s.stage = 1;
        return true;
    }

    bool auth(session& s) {
        if (s.in.size() < 90) return false;
        const std::string first = slot(s.in.substr(0, 30), 0);
        s.in.erase(0, 90);
        if (first != "NULL") {
            reject(s, -9);
            return false;
        }
        s.out += '\x01';
        s.out += std::string{5, 0, 1};
        s.out += static_cast<char>(s.pg.size());
        s.out += s.pg;
        s.stage = 2;
        s.open = true;
        return true;
    }

    bool client_message(session& s) {
        const std::string_view in = std::string_view(s.in).substr(s.used);  // erased once per read
        if (in.size() < 48) return false;
        const bool little = (static_cast<unsigned char>(in[0]) & 0x80) != 0;
        const std::uint32_t type = get(in, 0, little) & ~marker;
        const auto ng = static_cast<std::int32_t>(get(in, 36, little));
        const auto dl = static_cast<std::int32_t>(get(in, 44, little));
        const bool hint_little = (static_cast<unsigned char>(in[40]) & 0x80) != 0;
        const std::uint32_t hint = get(in, 40, hint_little) & ~marker;
        // Validation (protocol 4.2): a failure closes the session.
        const std::uint32_t svc = type & 0x3f, ctl = type & (join | leave | kill);
        const bool one_svc = svc != 0 && (svc & (svc - 1)) == 0, one_ctl = ctl != 0 && (ctl & (ctl - 1)) == 0;
        const long long size = static_cast<long long>(dl) + 32LL * ng;
        if (one_svc == one_ctl || slot(in, 4) != s.pg || ng < 0 || ng > 100 || (hint & ~0x00ffff00u) || dl < 0 ||
            dl > 144000 || size > 143952) {
            ++violations_;
            drop(s);
            return false;
        }
        const std::size_t total = 48 + 32 * static_cast<std::size_t>(ng) + static_cast<std::size_t>(dl);
        if (in.size() < total) return false;
        if (size > 143152) {  // the real 5.0.1 daemon's assertion fails here
            crashed_ = true;
            return false;
        }
        std::vector<std::string> groups;
        for (std::int32_t i = 0; i < ng; ++i) groups.push_back(slot(in, 48 + 32 * static_cast<std::size_t>(i)));
        const std::string data(in.substr(48 + 32 * static_cast<std::size_t>(ng), static_cast<std::size_t>(dl)));
        const std::string hint_raw(in.substr(40, 4));
        s.used += total;
        if (ctl) {
            if (groups.size() != 1) {
                ++violations_;
                drop(s);
                return false;
            }
            if (ctl == join) do_join(s, groups[0]);
            else if (ctl == leave) do_leave(s, groups[0], true);
            else drop(s);
            return !s.dead;
        }
        ++messages_;
        if (static_cast<std::size_t>(size) > max_size_) max_size_ = static_cast<std::size_t>(size);
        // Recipients: members of every destination (a private group is its session), once each.
        std::set<session*> to;
        for (const auto& g : groups) {
            if (auto it = groups_.find(g); it != groups_.end())
                for (const auto& pg : it->second)
                    if (session* m = by_pg(pg)) to.insert(m);
            if (session* m = by_pg(g)) to.insert(m);
        }
        if (type & self_discard) to.erase(&s);
        std::string m;
        put(m, svc | (type & self_discard) | marker);
        put_name(m, s.pg);
        put(m, static_cast<std::uint32_t>(groups.size()));
        m += hint_raw;  // passed through in the sender's byte order
        put(m, static_cast<std::uint32_t>(dl));
        for (const auto& g : groups) put_name(m, g);
        m += data;
        for (session* r : to) r->out += m;
        return true;
    }

    session* by_pg(const std::string& pg) {
        for (auto& o : sessions_)
            if (o->open && !o->dead && o->pg == pg) return o.get();
        return nullptr;
    }

    // A regular membership message about `group` to its members with the flag set.
    void membership(const std::string& group, std::uint32_t cause, const std::string& changed) {
        const auto& members = groups_[group];
        std::string body;
        put(body, 1);
        put(body, 1700000000);
        put(body, ++view_[group]);
        put(body, 1);  // one vs-set
        put(body, 0);  // the receiver's: the first
        put(body, 1);
        put_name(body, changed);
        const std::string m = frame(reg_memb | cause, group, std::vector<std::string>(members.begin(), members.end()), 0, body);
        for (const auto& pg : members)
            if (session* r = by_pg(pg); r && r->membership) r->out += m;
    }

    void do_join(session& s, const std::string& g) {
        auto& members = groups_[g];
        if (!members.insert(s.pg).second) return;  // already a member: ignored
        membership(g, caused_by_join, s.pg);
    }

    void do_leave(session& s, const std::string& g, bool self) {
        auto it = groups_.find(g);
        if (it == groups_.end() || !it->second.erase(s.pg)) return;  // not a member: ignored
        if (self && s.membership) s.out += frame(caused_by_leave, g, {}, 0, {});
        if (it->second.empty()) {
            groups_.erase(it);
            return;
        }
        membership(g, self ? caused_by_leave : caused_by_disconnect, s.pg);
    }

    // The session ends (kill, EOF, violation): the others see a disconnect.
    void drop(session& s) {
        if (s.dead) return;
        s.dead = true;
        std::vector<std::string> mine;
        for (const auto& [g, members] : groups_)
            if (members.count(s.pg)) mine.push_back(g);
        for (const auto& g : mine) do_leave(s, g, false);
        s.open = false;
    }

    options opt_;
    int wake_ = -1, listen_tcp_ = -1, listen_unix_ = -1;
    std::thread thread_;
    std::atomic<bool> running_{false}, crashed_{false};
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<session>> sessions_;
    std::map<std::string, std::set<std::string>> groups_;  // group -> members' private groups (daemon order: by name)
    std::map<std::string, std::int32_t> view_;
    std::optional<std::string> hostile_hello_;
    bool hostile_close_ = true;
    unsigned invented_ = 0;
    std::atomic<std::size_t> max_size_{0};
    std::atomic<std::uint64_t> messages_{0}, violations_{0};
};

}  // namespace rowcast::test
