// examples/common/cli_codec.hpp: --codec and --envelope for the programs that read or
// write events (rowcast/codec/by_name.hpp: needs the json and yaml components).
#pragma once

#include "cli.hpp"

#include <rowcast/codec/by_name.hpp>

#include <string>

namespace rowcast_cli {

// --- codec -------------------------------------------------------------------------

// A CLI11 check through a rowcast parse function: its error message (listing the accepted names) is the usage error.
template <auto Parse>
CLI::Validator name_check(const char* what) {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            auto r = Parse(s);
            return r ? std::string() : r.error_value().message;
        },
        "", what);
}
inline CLI::Validator codec_name_check() { return name_check<&rowcast::parse_codec_name>("codec"); }
inline CLI::Validator envelope_name_check() { return name_check<&rowcast::parse_envelope_name>("envelope"); }

struct codec_choice {
    std::string codec = "json";
    std::string envelope;  // empty: rowcast
    /// The spec; the error (a debezium envelope with yaml…) is a usage error.
    rowcast::result<rowcast::codec_spec> spec() const { return rowcast::parse_codec_spec(codec, envelope); }
};

/// --codec (the codec of the events the program reads or writes on its wire: `what` says which).
inline CLI::Option* add_codec_option(CLI::App& app, std::string& codec, const std::string& what,
                                     const std::string& name = "--codec") {
    return app.add_option(name, codec, what)->check(codec_name_check())->type_name("json|yaml|binary")->capture_default_str();
}

/// --envelope: the JSON envelope of what the program writes.
inline CLI::Option* add_envelope_option(CLI::App& app, std::string& envelope) {
    return app.add_option("--envelope", envelope, "JSON envelope of the events written: rowcast (default), debezium, maxwell or smpl-repl")
        ->check(envelope_name_check())
        ->type_name("rowcast|debezium|maxwell|smpl-repl");
}

}  // namespace rowcast_cli
