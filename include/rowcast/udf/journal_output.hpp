// rowcast/udf/journal_output.hpp: the loadable functions' journal output (config
// `output = journal`, docs/udf.md, docs/journal.md): each event is one record appended
// to a journal directory (journal/writer.hpp) instead of one spool file.
//
// `journal_output<Codecs...>::shared(config)` returns one writer per distinct
// (journal_directory, codec, durability, file_mode) for the whole process, kept open
// until the process exits: inside a trigger the server calls the functions' init for
// every row, and a writer per call would be a new segment (and a lock) per row. The
// writer holds the directory's journal.lock for the server's lifetime, so a second
// server (or rowcast program) writing the same directory is refused with "another
// process is writing this journal". A changed config opens another writer; the old
// one stays open, idle, so a holder never sees it closed. A journal directory renamed,
// removed or replaced under the same path is noticed at the next statement (the config's
// state checks it, udf/spool_output.hpp) and a writer is opened on what the path names
// now: nothing is appended to a directory no reader can find.
//
// Errors: shared(): "[rowcast.udf.unsupported] <config>: codec yaml is not built in",
// or the writer's open() errors (journal io_error, unavailable); nothing is cached on
// failure (the next call tries again). write(): the writer's errors.
//
// Thread-safety: write() from any number of threads (the writer's mutex); shared() is
// serialised.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/journal/writer.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/udf/detail/kept_outputs.hpp>
#include <rowcast/version.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

#include <sys/stat.h>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

template <event_codec... Codecs>
    requires(sizeof...(Codecs) > 0)
class journal_output {
public:
    /// The process-wide output for `c` (c.output must be journal); see the top of this header.
    static result<std::shared_ptr<journal_output>> shared(const config& c) {
        // Inside a trigger the init runs for every row: the last one asked for is compared field
        // by field before a key is built (detail/kept_outputs.hpp).
        auto key_of = [](const config& x) {
            return key{x.journal_directory, x.codec, static_cast<int>(x.durability), static_cast<unsigned>(x.file_mode)};
        };
        return ::rowcast::detail::udf::kept_outputs<journal_output, key>::process_wide().get(
            c, same_settings, key_of, [](const config& x) { return open(x); },
            [](const journal_output& o, const config& x) { return o.in_place(x.journal_directory); });
    }

    /// True while `directory` names the directory this output's writer holds (not renamed,
    /// removed or replaced since). Costs a stat() and an fstat(): shared() asks it only when a
    /// call site is made, which the loadable function does once per statement at most (and
    /// when the config's state is made again, which a replaced journal directory causes:
    /// udf/spool_output.hpp).
    bool in_place(const std::string& directory) const noexcept {
        const int fd = std::visit([](const auto& w) { return w.directory_fd(); }, writer_);
        struct stat held {}, named {};
        return ::fstat(fd, &held) == 0 && ::stat(directory.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
               held.st_ino == named.st_ino;
    }

    /// A new output for `c` (not shared): the writer for `c.codec` on `c.journal_directory`.
    static result<journal_output> open(const config& c) {
        std::optional<result<journal_output>> out;
        (try_open<Codecs>(c, out), ...);
        if (out) return std::move(*out);
        std::string built;
        ((built += (built.empty() ? "" : ", "), built += Codecs::name), ...);
        return error::make(errc::unsupported, "udf", c.file, "codec " + c.codec + " is not built in (built in: " + built + ")");
    }

    /// Appends `e` to the journal (one record).
    result<void> write(const event& e) {
        return std::visit([&](auto& w) { return w.write(e); }, writer_);
    }

    std::string_view codec_name() const noexcept { return codec_name_; }

    template <class W>
        requires(!std::is_same_v<W, journal_output>)
    journal_output(W w, std::string_view name) : writer_(std::move(w)), codec_name_(name) {}

private:
    using key = std::tuple<std::string, std::string, int, unsigned>;
    static bool same_settings(const config& a, const config& b) noexcept {
        return a.durability == b.durability && a.file_mode == b.file_mode && a.codec == b.codec &&
               a.journal_directory == b.journal_directory;
    }

    template <class Codec>
    static void try_open(const config& c, std::optional<result<journal_output>>& out) {
        if (out || c.codec != Codec::name) return;
        auto w = journal_writer<Codec>::open({.directory = c.journal_directory, .durability = c.durability, .file_mode = c.file_mode});
        if (!w) out.emplace(std::move(w.error_value()));
        else out.emplace(journal_output(std::move(*w), Codec::name));
    }

    std::variant<journal_writer<Codecs>...> writer_;
    std::string_view codec_name_;
};

}  // namespace udf
ROWCAST_NAMESPACE_END
