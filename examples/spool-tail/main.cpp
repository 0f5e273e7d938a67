// rowcast-spool-tail: follows a spool directory and prints each event as it arrives
// (JSON lines by default), removing the files it printed. A small consumer built
// from rowcast::spool_reader, used by the README's main-job command.
//
//   rowcast-spool-tail DIR [--codec json|yaml|binary] [--format json|debezium|yaml]
//                          [--keep] [--count N] [--idle-exit SECONDS]
//
// --keep moves printed files to DIR/done instead of removing them; --count exits
// after N events; --idle-exit exits after that many seconds without an event.
// Exit status: 0 on success (or SIGINT/SIGTERM), 2 on bad usage, 1 on errors.
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#include <rowcast/transport/spool_reader.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <poll.h>

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested = true; }

struct options {
    std::string dir;
    std::string codec = "json";
    std::string format = "json";
    bool keep = false;
    std::optional<std::uint64_t> count;
    std::optional<int> idle_exit;
};

int usage(const char* msg) {
    std::fprintf(stderr,
                 "rowcast-spool-tail: %s\n"
                 "usage: rowcast-spool-tail DIR [--codec json|yaml|binary] [--format json|debezium|yaml]\n"
                 "                          [--keep] [--count N] [--idle-exit SECONDS]\n",
                 msg);
    return 2;
}

template <class Codec>
int follow(const options& o) {
    rowcast::spool_reader_options ro;
    ro.directory = o.dir;
    ro.after = o.keep ? rowcast::spool_after::move_to_done : rowcast::spool_after::remove;
    auto reader = rowcast::spool_reader<Codec>::open(ro);
    if (!reader) {
        std::fprintf(stderr, "rowcast-spool-tail: %s\n", reader.error_value().message.c_str());
        return 1;
    }
    rowcast::json_codec json{{.envelope = o.format == "debezium" ? rowcast::json_envelope::debezium
                                                                 : rowcast::json_envelope::rowcast}};
    rowcast::yaml_codec yaml;
    std::string out;
    std::uint64_t printed = 0;
    auto handler = [&](const rowcast::event& e) {
        out.clear();
        if (o.format == "yaml") yaml.encode(e, out);
        else {
            json.encode(e, out);
            out += '\n';
        }
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)
            return false;  // stdout closed: keep the file, report the failure
        ++printed;
        return true;
    };
    auto last_event = std::chrono::steady_clock::now();
    while (!stop_requested && (!o.count || printed < *o.count)) {
        const std::uint64_t before = printed;
        auto r = reader->process(handler);
        if (!r) {
            std::fprintf(stderr, "rowcast-spool-tail: %s\n", r.error_value().message.c_str());
            return 1;
        }
        if (printed != before) last_event = std::chrono::steady_clock::now();
        else if (o.idle_exit && std::chrono::steady_clock::now() - last_event > std::chrono::seconds(*o.idle_exit))
            break;
        if (o.count && printed >= *o.count) break;
        pollfd p{reader->native_handle(), POLLIN, 0};
        const auto t = reader->next_timeout().count();
        ::poll(&p, 1, t < 0 || t > 200 ? 200 : static_cast<int>(t));
    }
    std::fprintf(stderr, "rowcast-spool-tail: %llu events printed, %llu quarantined\n",
                 static_cast<unsigned long long>(printed),
                 static_cast<unsigned long long>(reader->stats().quarantined));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--codec") {
            const char* v = next();
            if (!v) return usage("--codec needs a value");
            o.codec = v;
        } else if (a == "--format") {
            const char* v = next();
            if (!v) return usage("--format needs a value");
            o.format = v;
        } else if (a == "--keep") {
            o.keep = true;
        } else if (a == "--count") {
            const char* v = next();
            if (!v) return usage("--count needs a number");
            o.count = std::strtoull(v, nullptr, 10);
        } else if (a == "--idle-exit") {
            const char* v = next();
            if (!v) return usage("--idle-exit needs a number of seconds");
            o.idle_exit = std::atoi(v);
        } else if (!a.empty() && a[0] == '-') {
            return usage(("unknown option " + std::string(a)).c_str());
        } else if (o.dir.empty()) {
            o.dir = a;
        } else {
            return usage("only one directory");
        }
    }
    if (o.dir.empty()) return usage("no spool directory given");
    if (o.format != "json" && o.format != "debezium" && o.format != "yaml") return usage("unknown --format");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (o.codec == "json") return follow<rowcast::json_codec>(o);
    if (o.codec == "yaml") return follow<rowcast::yaml_codec>(o);
    if (o.codec == "binary") return follow<rowcast::binary_codec>(o);
    return usage("unknown --codec");
}
