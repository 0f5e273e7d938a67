// rowcast-make-seeds <out dir> [random events per codec, default 200]
//
// Writes seed corpora for the fuzzers: <out>/binary/, <out>/json/, <out>/yaml/,
// one file per encoded event (the reference events of tests/support/sample_events.hpp
// and deterministic random events from tests/support/random_event.hpp), plus the
// hand-written messages rowcast must read (the smpl-repl JSON, the tmod YAML).
// The text codecs are written only when their component is part of this build
// (ROWCAST_SEEDS_JSON, ROWCAST_SEEDS_YAML, set by tests/fuzz/CMakeLists.txt).
#include "support/random_event.hpp"
#include "support/sample_events.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/event.hpp>
#ifdef ROWCAST_SEEDS_JSON
#include <rowcast/codec/json.hpp>
#endif
#ifdef ROWCAST_SEEDS_YAML
#include <rowcast/codec/yaml.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<rowcast::event> seed_events(std::size_t random_count) {
    std::vector<rowcast::event> events = {rowcast::test::hosts_update(), rowcast::test::small_insert(),
                                          rowcast::test::wide_insert()};
    rowcast::test::event_generator gen(20261122);
    for (std::size_t i = 0; i < random_count; ++i) events.push_back(gen.next());
    return events;
}

bool write_file(const fs::path& p, std::string_view bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(f);
}

// Encodes every event with `codec` into dir/<prefix>-<n>; returns the number written, or -1.
template <class Codec>
long write_corpus(Codec codec, const fs::path& dir, std::string_view prefix, const std::vector<rowcast::event>& events) {
    fs::create_directories(dir);
    long n = 0;
    for (const auto& e : events) {
        const std::string bytes = rowcast::encode(codec, e);
        if (!write_file(dir / (std::string(prefix) + "-" + std::to_string(n)), bytes)) return -1;
        ++n;
    }
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s <out dir> [random events per codec]\n", argv[0]);
        return 2;
    }
    const fs::path out = argv[1];
    const std::size_t random_count = argc == 3 ? std::strtoul(argv[2], nullptr, 10) : 200;
    const auto events = seed_events(random_count);
    bool ok = true;
    auto report = [&](const char* what, long n) {
        if (n < 0) {
            std::fprintf(stderr, "make_seeds: writing %s seeds failed\n", what);
            ok = false;
        } else {
            std::printf("make_seeds: %ld %s seeds\n", n, what);
        }
    };
    report("binary", write_corpus(rowcast::binary_codec{}, out / "binary", "event", events));
#ifdef ROWCAST_SEEDS_JSON
    report("json", write_corpus(rowcast::json_codec{}, out / "json", "event", events));
    report("json (debezium)",
           write_corpus(rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::debezium}},
                        out / "json", "debezium", events));
    fs::create_directories(out / "json");
    ok = write_file(out / "json" / "smpl-repl", rowcast::test::smpl_repl_message) && ok;
#endif
#ifdef ROWCAST_SEEDS_YAML
    report("yaml", write_corpus(rowcast::yaml_codec{}, out / "yaml", "event", events));
    fs::create_directories(out / "yaml");
    ok = write_file(out / "yaml" / "tmod", rowcast::test::tmod_message) && ok;
#endif
    return ok ? 0 : 1;
}
