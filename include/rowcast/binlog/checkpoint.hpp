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

#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/os/detail/fd.hpp>
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

}  // namespace binlog
namespace detail::checkpoint {
inline constexpr std::string_view magic = "rowcast-binlog-checkpoint";
inline constexpr std::string_view version_line = "rowcast-binlog-checkpoint 1";

inline bool bad_value_char(std::string_view v) noexcept {
    return v.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos;
}

inline std::string serialize(const ::rowcast::binlog::checkpoint_record& r) {
    std::string s;
    s.reserve(128 + r.pos.file.size() + r.pos.gtid.size() + r.staged.size());
    s += version_line;
    s += "\nfile=";
    s += r.pos.file;
    s += "\noffset=";
    s += std::to_string(r.pos.offset);
    s += "\ngtid=";
    s += r.pos.gtid;
    s += '\n';
    if (!r.staged.empty()) {
        s += "staged=";
        s += r.staged;
        s += '\n';
    }
    char tail[32];
    std::snprintf(tail, sizeof tail, "end crc32=%08x\n",
                  static_cast<unsigned>(detail::binlog::crc32(s.data(), s.size())));
    s += tail;
    return s;
}

/// Parses a whole state file's contents. `where` names the file in errors.
inline result<::rowcast::binlog::checkpoint_record> parse(std::string_view text, std::string_view where) {
    auto fail = [&](errc e, std::string_view what) {
        return error::make(e, "checkpoint", where, std::string(what) + " (the file is kept; fix or remove it)");
    };
    if (text.empty()) return fail(errc::truncated, "checkpoint file is empty");
    if (!text.starts_with(magic)) return fail(errc::bad_magic, "not a rowcast binlog checkpoint file");
    // The last line: "end crc32=xxxxxxxx\n".
    if (text.back() != '\n') return fail(errc::truncated, "checkpoint file is incomplete (no final end line)");
    const std::size_t last_start = text.rfind('\n', text.size() - 2);
    if (last_start == std::string_view::npos) return fail(errc::truncated, "checkpoint file is incomplete (no end line)");
    const std::string_view body = text.substr(0, last_start + 1);
    const std::string_view last = text.substr(last_start + 1, text.size() - last_start - 2);
    constexpr std::string_view end_key = "end crc32=";
    if (!last.starts_with(end_key)) return fail(errc::truncated, "checkpoint file is incomplete (no end line)");
    const std::string_view hex = last.substr(end_key.size());
    const bool hex_ok = hex.size() == 8 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
    if (!hex_ok) return fail(errc::invalid_value, "malformed end line '" + std::string(last) + "'");
    char computed[9];
    std::snprintf(computed, sizeof computed, "%08x",
                  static_cast<unsigned>(detail::binlog::crc32(body.data(), body.size())));
    if (hex != computed)
        return fail(errc::invalid_value, "checksum mismatch (stored " + std::string(hex) + ", computed " + computed +
                                             "): the file is damaged");
    // Lines of the body.
    ::rowcast::binlog::checkpoint_record r;
    bool have_file = false, have_offset = false, have_gtid = false;
    std::size_t pos = 0;
    int line_no = 0;
    while (pos < body.size()) {
        const std::size_t nl = body.find('\n', pos);
        const std::string_view line = body.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        if (line_no == 1) {
            if (line != version_line)
                return fail(errc::unsupported_version, "unsupported checkpoint version line '" + std::string(line) + "'");
            continue;
        }
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            return fail(errc::invalid_value, "line " + std::to_string(line_no) + " is not key=value");
        const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
        if (key == "file" && !have_file) {
            r.pos.file = value;
            have_file = true;
        } else if (key == "offset" && !have_offset) {
            auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), r.pos.offset);
            if (ec2 != std::errc{} || q != value.data() + value.size() || value.empty())
                return fail(errc::invalid_value, "offset '" + std::string(value) + "' is not a number");
            have_offset = true;
        } else if (key == "gtid" && !have_gtid) {
            r.pos.gtid = value;
            have_gtid = true;
        } else if (key == "staged" && r.staged.empty() && !value.empty()) {
            r.staged = value;
        } else {
            return fail(errc::invalid_value, "unexpected or repeated key '" + std::string(key) + "' on line " +
                                                 std::to_string(line_no));
        }
    }
    if (!have_file) return fail(errc::missing_field, "no file= line");
    if (!have_offset) return fail(errc::missing_field, "no offset= line");
    if (!have_gtid) return fail(errc::missing_field, "no gtid= line");
    return r;
}
}  // namespace detail::checkpoint
namespace binlog {

/// The checkpoint store for one file on disk (see the top of this header).
class state_file {
public:
    /// No I/O happens here; errors come from load() and save(). The file's
    /// directory must exist and be writable when save() is called.
    explicit state_file(std::filesystem::path path,
                        spool_durability durability = spool_durability::file_and_directory)
        : path_(std::move(path)), durability_(durability) {}

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
        const std::string where = path_.string();
        rowcast::detail::unique_fd fd(::open(where.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) return std::optional<checkpoint_record>{};
            return rowcast::detail::os_error(errno, "checkpoint", where, "cannot open checkpoint file");
        }
        std::string text;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                return rowcast::detail::os_error(errno, "checkpoint", where, "cannot read checkpoint file");
            }
            if (n == 0) break;
            text.append(buf, static_cast<std::size_t>(n));
            if (text.size() > max_size)
                return error::make(errc::limit_exceeded, "checkpoint", where,
                                   "checkpoint file is larger than 1 MiB: not a checkpoint (the file is kept)");
        }
        auto r = detail::checkpoint::parse(text, where);
        if (!r) return r.error_value();
        return std::optional<checkpoint_record>{std::move(*r)};
    }

    /// Saves `r` atomically: temporary file, fsync, rename, fsync of the directory
    /// (as the durability setting says).
    result<void> save_record(const checkpoint_record& r) {
        const std::string where = path_.string();
        for (std::string_view v : {std::string_view(r.pos.file), std::string_view(r.pos.gtid), std::string_view(r.staged)})
            if (detail::checkpoint::bad_value_char(v))
                return error::make(errc::invalid_value, "checkpoint", where,
                                   "a value to save contains a newline, carriage return or NUL");
        const std::string text = detail::checkpoint::serialize(r);
        std::filesystem::path dir = path_.parent_path();
        if (dir.empty()) dir = ".";
        const std::string dir_name = dir.string();
        const std::string tmp = (dir / ("." + path_.filename().string() + ".tmp")).string();
        rowcast::detail::unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) return rowcast::detail::os_error(errno, "checkpoint", tmp, "cannot create temporary checkpoint file");
        auto fail = [&](int err, std::string_view what) {
            fd.reset();
            ::unlink(tmp.c_str());
            return rowcast::detail::os_error(err, "checkpoint", tmp, what);
        };
        if (int err = rowcast::detail::write_all(fd.get(), text)) return fail(err, "cannot write checkpoint file");
        if (durability_ != spool_durability::none && ::fsync(fd.get()) != 0)
            return fail(errno, "cannot fsync checkpoint file");
        if (::close(fd.release()) != 0) return fail(errno, "cannot close checkpoint file");
        if (::rename(tmp.c_str(), where.c_str()) != 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            return rowcast::detail::os_error(err, "checkpoint", where, "cannot rename checkpoint file into place");
        }
        if (durability_ == spool_durability::file_and_directory) {
            rowcast::detail::unique_fd dfd(::open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!dfd || ::fsync(dfd.get()) != 0)
                return rowcast::detail::os_error(errno, "checkpoint", dir_name, "cannot fsync checkpoint directory");
        }
        return {};
    }

    const std::filesystem::path& path() const noexcept { return path_; }
    spool_durability durability() const noexcept { return durability_; }

    static constexpr std::size_t max_size = 1 << 20;  ///< larger files are refused by load()

private:
    std::filesystem::path path_;
    spool_durability durability_;
};

static_assert(checkpoint_store<state_file>);

}  // namespace binlog
ROWCAST_NAMESPACE_END
