// rowcast-spool-tail: follows a spool directory and prints each event as it arrives
// (JSON Lines by default), removing the files it printed: spool_reader ->
// filtered_sink -> stream_sink(stdout) through rowcast::run. docs/programs.md.
//
//   rowcast-spool-tail [--codec C] [--output-codec C] [--envelope E] [--keep] [--count N]
//                      [--idle-exit SECONDS] [filters] DIR
#include "../common/cli_codec.hpp"

#include <rowcast/codec/by_name.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/stream_sink.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>

#include <unistd.h>

namespace {

struct options {
    std::string dir;
    std::string spool_codec = "json";
    rowcast_cli::codec_choice output;
    bool keep = false;
    std::optional<std::uint64_t> count;
    std::optional<unsigned> idle_exit;
};

// Counts what is printed, marks activity for --idle-exit, and ends the run at --count:
// the event after the last one wanted is refused (its file stays in the spool).
template <class Sink>
struct counting_sink {
    Sink& out;
    rowcast_cli::signal_stop& stop;
    std::optional<std::uint64_t> limit;
    std::uint64_t printed = 0;

    rowcast::result<void> write(const rowcast::event& e) { return write(std::span<const rowcast::event>(&e, 1)); }
    rowcast::result<void> write(std::span<const rowcast::event> batch) {
        if (limit && printed + batch.size() > *limit) {
            stop.source().request_stop();
            return rowcast::error::make(rowcast::errc::unavailable, "spool-tail", "--count", "enough events printed");
        }
        if (auto r = out.write(batch); !r) return r;
        printed += batch.size();
        stop.touch();
        if (limit && printed >= *limit) stop.source().request_stop();
        return {};
    }
    rowcast::result<void> flush() { return out.flush(); }
};

template <class SpoolCodec, class OutCodec>
int follow(const CLI::App& app, const options& o, rowcast::event_filter filter, SpoolCodec spool_codec,
           OutCodec out_codec) {
    rowcast_cli::signal_stop stop(o.idle_exit ? std::optional(std::chrono::seconds(*o.idle_exit)) : std::nullopt);
    rowcast::spool_reader_options ro;
    ro.directory = o.dir;
    ro.after = o.keep ? rowcast::spool_after::move_to_done : rowcast::spool_after::remove;
    if (o.count) ro.max_batch = 1;  // --count stops exactly after N events
    auto reader = rowcast::spool_reader<SpoolCodec>::open(ro, std::move(spool_codec));
    if (!reader) return rowcast_cli::runtime_error(app, reader.error_value().message);

    rowcast::stream_sink out(STDOUT_FILENO, std::move(out_codec));
    counting_sink<decltype(out)> counted{out, stop, o.count};
    rowcast::filtered_sink sink(std::move(filter), counted);
    rowcast::run_options run_opt;
    run_opt.log = [&stop](rowcast::log_level l, std::string_view c, std::string_view m) {
        if (!stop.token().stop_requested()) rowcast::log(l, c, m);  // not the refusal that ends --count
    };
    auto r = rowcast::run(*reader, sink, stop.token(), run_opt);
    std::fprintf(stderr, "rowcast-spool-tail: %llu events printed, %llu quarantined\n",
                 static_cast<unsigned long long>(counted.printed),
                 static_cast<unsigned long long>(reader->stats().quarantined));
    if (!r) return rowcast_cli::runtime_error(app, r.error_value().message);
    return rowcast_cli::exit_ok;
}

}  // namespace

static int run_main(int argc, char** argv) {
    CLI::App app("Follows a rowcast spool directory and prints each event as it arrives (JSON Lines by default), "
                 "removing the files it printed.",
                 "rowcast-spool-tail");
    rowcast_cli::setup(app, "Example: rowcast-spool-tail /var/spool/rowcast --table=app.hosts --envelope=debezium");
    options o;
    rowcast::filter_rules rules;
    app.add_option("DIR", o.dir, "The spool directory")->required();
    rowcast_cli::add_codec_option(app, o.spool_codec, "Codec of the spool's files: json, yaml or binary");
    rowcast_cli::add_codec_option(app, o.output.codec, "Codec of what is printed: json (JSON Lines), yaml or binary",
                                  "--output-codec");
    rowcast_cli::add_envelope_option(app, o.output.envelope);
    app.add_flag("--keep", o.keep, "Move printed files to DIR/done instead of removing them");
    app.add_option("--count", o.count, "Exit after printing N events")->check(CLI::PositiveNumber)->type_name("N");
    app.add_option("--idle-exit", o.idle_exit, "Exit after SECONDS without an event")->type_name("SECONDS");
    rowcast_cli::add_filter_options(app, rules);
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;

    auto spool = rowcast::parse_codec_spec(o.spool_codec);
    auto output = o.output.spec();
    if (!output) return rowcast_cli::usage_error(app, output.error_value().message);
    auto filter = rowcast::event_filter::make(rules);
    if (!filter) return rowcast_cli::usage_error(app, filter.error_value().message);
    return rowcast::with_codec(*spool, [&]<class SpoolCodec>(SpoolCodec in) {
        return rowcast::with_codec(*output, [&]<class OutCodec>(OutCodec out) {
            return follow(app, o, *filter, std::move(in), std::move(out));
        });
    });
}

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-spool-tail", [&] { return run_main(argc, argv); }); }
