// rowcast/daemon/http.hpp: the /metrics and /healthz endpoints over cpp-httplib
// (Debian: libcpp-httplib-dev; component rowcast::daemon).
//
//   auto srv = rowcast::daemon::http_server::start("127.0.0.1:9187",
//       {.metrics = [&] { return relay->metrics_text(); }, .failing = [&] { return relay->failing(); }});
//   srv.value()->port();          // the bound port (useful with ":0")
//
// GET /metrics: 200, Content-Type "text/plain; version=0.0.4", the text of
// `metrics`. GET /healthz: 200 "ok\n" when `failing` returns "", else 503
// "failing: <what>\n". Anything else: 404. The server runs on its own thread
// (cpp-httplib's thread pool) until stop() or destruction.
//
// Errors: start(): invalid_value for a listen address that is not host:port,
// io_error when the address cannot be bound.
//
// Thread-safety: the callbacks run on the server's threads, concurrently.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

ROWCAST_NAMESPACE_BEGIN
namespace daemon {

class http_server {
    struct passkey {  // only start() makes one: std::make_unique without a constructor others can call
        explicit passkey() = default;
    };

public:
    struct handlers {
        std::function<std::string()> metrics;  ///< the /metrics body
        std::function<std::string()> failing;  ///< "" when healthy, else what fails
    };

    /// Binds `listen` ("host:port"; port 0 picks one) and starts serving.
    static result<std::unique_ptr<http_server>> start(const std::string& listen, handlers h) {
        const auto colon = listen.rfind(':');
        if (colon == std::string::npos) return error::make(errc::invalid_value, "daemon", listen, "not host:port");
        std::string host = listen.substr(0, colon);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        int port = 0;
        try {
            port = std::stoi(listen.substr(colon + 1));
        } catch (const std::exception&) {
            return error::make(errc::invalid_value, "daemon", listen, "not host:port");
        }
        auto s = std::make_unique<http_server>(passkey{}, std::move(h));
        s->srv_.Get("/metrics", [hs = s.get()](const httplib::Request&, httplib::Response& res) {
            res.set_content(hs->h_.metrics ? hs->h_.metrics() : std::string(), "text/plain; version=0.0.4; charset=utf-8");
        });
        s->srv_.Get("/healthz", [hs = s.get()](const httplib::Request&, httplib::Response& res) {
            const std::string f = hs->h_.failing ? hs->h_.failing() : std::string();
            res.status = f.empty() ? 200 : 503;
            res.set_content(f.empty() ? "ok\n" : "failing: " + f + "\n", "text/plain");
        });
        const int bound = port == 0 ? s->srv_.bind_to_any_port(host) : (s->srv_.bind_to_port(host, port) ? port : -1);
        if (bound <= 0) return error::make(errc::io_error, "daemon", listen, "cannot listen on this address");
        s->port_ = bound;
        s->thread_ = std::thread([hs = s.get()] { hs->srv_.listen_after_bind(); });
        return s;
    }

    http_server(passkey, handlers h) : h_(std::move(h)) {}
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;
    ~http_server() { stop(); }

    /// The bound port.
    int port() const noexcept { return port_; }

    /// Stops serving (idempotent).
    void stop() {
        srv_.stop();
        if (thread_.joinable()) thread_.join();
    }

private:

    handlers h_;
    httplib::Server srv_;
    std::thread thread_;
    int port_ = 0;
};

}  // namespace daemon
ROWCAST_NAMESPACE_END
