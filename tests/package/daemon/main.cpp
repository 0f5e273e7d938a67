// Package test consumer of rowcast::daemon: the relay's config side parses a config
// with the installed headers, and a mistake is an error naming the key and the line.
#include <rowcast/daemon/relay.hpp>

#include <cstdio>
#include <string>

int main() {
    const std::string yaml = "source:\n  type: spool\n  directory: /nonexistent\nsinks:\n  - type: stdout\n    codec: jsn\n";
    auto c = rowcast::daemon::parse_config(yaml, "consumer.yaml", rowcast::daemon::types());
    if (c || c.error_value().message.find("line 6") == std::string::npos) {
        std::puts("expected an error naming sinks[0].codec at line 6");
        return 1;
    }
    std::printf("ok: %s\n", c.error_value().message.c_str());
    return 0;
}
