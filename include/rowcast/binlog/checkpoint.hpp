// rowcast/binlog/checkpoint.hpp: where a binlog follower stands, saved so that a
// restart resumes there.
//
// `position` is the point right after the last fully handled transaction: the
// binlog file, the byte offset at which the next event starts (what
// COM_BINLOG_DUMP asks for), and the GTID set executed up to there (MariaDB
// "0-1-42,1-2-7": one domain-server-seq per domain; MySQL
// "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42,…": uuid:intervals). An empty gtid means none.
//
// `checkpoint_store` is what a follower saves positions into. `state_file` is the
// store for a file on disk:
//   - save() is atomic: the new contents go to a temporary file in the same
//     directory (".<name>.tmp"), which is fsynced and renamed over the state file,
//     then the directory is fsynced (spool_durability, as for spool files). After a
//     kill -9 or a power loss at any instant (with file_and_directory) the file holds
//     either the old or the new position, whole.
//   - load(): a missing file is std::nullopt (start from the beginning, or wherever
//     the caller decides); a file that exists but is not a complete, valid state
//     file (empty, torn, bit-flipped, unknown version) is an error naming the file
//     and what is wrong. The file is left as it is: a follower must never silently
//     start from scratch over a damaged checkpoint.
//
// File format (text, one key=value per line, in this order; the last line holds a
// CRC32 of every byte before it, so a torn or edited file is detected):
//     rowcast-binlog-checkpoint 1
//     file=mariadb-bin.000003
//     offset=1234
//     gtid=0-1-42
//     staged=1795352710000000123_4711:42   (optional, opaque: see spool_sink.hpp)
//     end crc32=1a2b3c4d
// Values must not contain a newline, carriage return or NUL (save() refuses them).
//
// GTID sets are tracked by the follower (follower.hpp; gtid_state in gtid.hpp); here the gtid
// is an opaque line of text.
//
// Errors: [rowcast.checkpoint.io_error] <path>: <what>: <strerror> for the file
// system; [rowcast.checkpoint.truncated|invalid_value|unsupported_version|bad_magic]
// <path>: <what> for a damaged file.
//
// Thread-safety: a state_file is used by one thread at a time. Two processes
// must not save to the same state file.
#pragma once

#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/error.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// A point in the binlog: right after the last fully handled transaction.
struct position {
    std::string file;          ///< binlog file name as the server names it, e.g. "mariadb-bin.000003"
    std::uint64_t offset = 4;  ///< byte offset of the next event in `file` (4 = first event after the magic)
    std::string gtid;          ///< MariaDB "0-1-42,1-2-7" or MySQL "uuid:1-42,..."; empty = none
    friend bool operator==(const position&, const position&) = default;
};

/// A place positions are saved to and loaded from.
/// load(): the last saved position, std::nullopt if none was ever saved, or an error.
/// save(p): makes p the saved position (atomically: a crash leaves the old or the new one).
template <class S>
concept checkpoint_store = requires(S& s, const position& p) {
    { s.load() } -> std::same_as<result<std::optional<position>>>;
    { s.save(p) } -> std::same_as<result<void>>;
};

/// A saved checkpoint with its optional staged-transaction tag (see spool_sink.hpp).
struct checkpoint_record {
    position pos;
    std::string staged;  ///< tag of staged spool files this checkpoint commits; empty = none
    friend bool operator==(const checkpoint_record&, const checkpoint_record&) = default;
};

/// The checkpoint file format of binlog state files ("rowcast-binlog-checkpoint 1", the
/// format of rowcast 0.1): pass it to checkpoint_file, spool_sink_options::format and the like
/// so the files stay readable by state_file and by older versions.
inline constexpr checkpoint_format state_file_format = detail::checkpoint::binlog_v01;

/// The cursor text of a position (pipeline/checkpoint.hpp): "file=<f>\noffset=<n>\ngtid=<g>".
/// The file name and the GTID set must not contain a newline, carriage return or NUL.
inline std::string to_cursor(const position& p) {
    return "file=" + p.file + "\noffset=" + std::to_string(p.offset) + "\ngtid=" + p.gtid;
}

/// The first line of the cursors a snapshot publishes while it copies rows
/// (snapshot/initial.hpp): such a cursor is not a binlog position.
inline constexpr std::string_view snapshot_cursor_prefix = "snapshot=1\n";

/// What an incremental snapshot (snapshot/incremental.hpp) appends to a position's cursor
/// while it runs, after this line: parse_cursor(position_part(c)) reads the position.
inline constexpr std::string_view incremental_cursor_marker = "\nincremental=1\n";

/// The cursor without an incremental snapshot's part.
inline std::string_view position_part(std::string_view c) noexcept {
    const auto at = c.find(incremental_cursor_marker);
    return at == std::string_view::npos ? c : c.substr(0, at);
}

/// Parses to_cursor()'s text (lines in that order, each once). `where` names the file in errors.
inline result<position> parse_cursor(std::string_view c, std::string_view where) {
    auto fail = [&](errc e, std::string_view what) {
        return error::make(e, "checkpoint", where, std::string(what) + " (the file is kept; fix or remove it)");
    };
    position p;
    bool have_file = false, have_offset = false, have_gtid = false;
    std::size_t pos = 0;
    while (pos <= c.size()) {
        const std::size_t nl = std::min(c.find('\n', pos), c.size());
        const std::string_view line = c.substr(pos, nl - pos);
        pos = nl + 1;
        const std::size_t eq = line.find('=');
        const std::string_view key = line.substr(0, eq), value = eq == std::string_view::npos ? "" : line.substr(eq + 1);
        if (key == "file" && !have_file) {
            p.file = value;
            have_file = true;
        } else if (key == "offset" && !have_offset) {
            auto [q, ec] = std::from_chars(value.data(), value.data() + value.size(), p.offset);
            if (ec != std::errc{} || q != value.data() + value.size() || value.empty())
                return fail(errc::invalid_value, "offset '" + std::string(value) + "' is not a number");
            have_offset = true;
        } else if (key == "gtid" && !have_gtid) {
            p.gtid = value;
            have_gtid = true;
        } else {
            return fail(errc::invalid_value, "unexpected or repeated key '" + std::string(key) + "'");
        }
    }
    if (!have_file) return fail(errc::missing_field, "no file= line");
    if (!have_offset) return fail(errc::missing_field, "no offset= line");
    if (!have_gtid) return fail(errc::missing_field, "no gtid= line");
    return p;
}

/// The checkpoint store for one file on disk (see the top of this header): a
/// rowcast::checkpoint_file in the "rowcast-binlog-checkpoint" format whose cursor is
/// a position.
class state_file {
public:
    static constexpr std::size_t max_size = checkpoint_file::max_size;  ///< larger files are refused by load()

    /// No I/O happens here; errors come from load() and save(). The file's
    /// directory must exist and be writable when save() is called.
    explicit state_file(std::filesystem::path path,
                        spool_durability durability = spool_durability::file_and_directory)
        : file_(std::move(path), durability, detail::checkpoint::binlog_v01) {}

    /// The saved position, std::nullopt if the file does not exist, or an error
    /// (I/O, or a damaged file: see the top of this header).
    result<std::optional<position>> load() const {
        auto r = load_record();
        if (!r) return r.error_value();
        if (!*r) return std::optional<position>{};
        return std::optional<position>{std::move((*r)->pos)};
    }

    /// Saves `p` atomically (with no staged tag).
    result<void> save(const position& p) { return save_record({p, {}}); }

    /// The saved record, including the staged tag.
    result<std::optional<checkpoint_record>> load_record() const {
        auto r = file_.load();
        if (!r) return r.error_value();
        if (!*r) return std::optional<checkpoint_record>{};
        auto p = parse_cursor((*r)->cursor, file_.path().string());
        if (!p) return p.error_value();
        return std::optional<checkpoint_record>{checkpoint_record{std::move(*p), std::move((*r)->staged)}};
    }

    /// Saves `r` atomically: temporary file, fsync, rename, fsync of the directory
    /// (as the durability setting says).
    result<void> save_record(const checkpoint_record& r) {
        for (std::string_view v : {std::string_view(r.pos.file), std::string_view(r.pos.gtid), std::string_view(r.staged)})
            if (v.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos)
                return error::make(errc::invalid_value, "checkpoint", file_.path().string(),
                                   "a value to save contains a newline, carriage return or NUL");
        return file_.save({to_cursor(r.pos), r.staged});
    }

    const std::filesystem::path& path() const noexcept { return file_.path(); }
    spool_durability durability() const noexcept { return file_.durability_setting(); }

private:
    checkpoint_file file_;
};

static_assert(checkpoint_store<state_file>);

}  // namespace binlog
ROWCAST_NAMESPACE_END
