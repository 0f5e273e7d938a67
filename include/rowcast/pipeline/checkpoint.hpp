// rowcast/pipeline/checkpoint.hpp: a checkpoint store over an opaque resume
// cursor, kept in one file on disk.
//
// A checkpoint_record is the source's cursor (opaque text that the source alone
// interprets: the binlog follower's is "file=…\noffset=…\ngtid=…", see
// binlog/checkpoint.hpp) and, optionally, the token of staged output that the
// checkpoint commits (a transactional sink's, e.g. transport/spool_sink.hpp).
//
// checkpoint_file:
//   - save() is atomic (os/atomic_file.hpp): after a kill -9 or a power loss
//     (durability::file_and_directory) at any instant the file holds either the old
//     or the new record, whole. The file's mode is 0640 whatever the umask; its
//     temporary ".<name>.tmp" is created exclusively (a planted link is never
//     followed). Keep the file in a directory only the process's user can write
//     (such as /var/lib/rowcast), never in a spool directory;
//   - load(): a missing file is std::nullopt; a file that exists but is not a
//     complete, valid checkpoint (empty, torn, bit-flipped, unknown version) is an
//     error naming the file and what is wrong, as is a symbolic link or a FIFO in its
//     place (never followed). The file is left as it is: a source must never silently
//     start from scratch over a damaged checkpoint.
//
// File format (text, one line each; the last line holds a CRC32 of every byte before it):
//     <magic> 1                      "rowcast-checkpoint 1" (a format may name its own magic)
//     <the cursor's lines>           each "key=value"; keys other than "staged" and "end"
//     staged=<token>                 optional
//     end crc32=1a2b3c4d
// A cursor is one or more such lines joined by '\n' (no '\r' or NUL, no empty line);
// save() refuses others. The binlog state files of rowcast 0.1
// ("rowcast-binlog-checkpoint 1" + file=/offset=/gtid=) are this format with their
// own magic: checkpoint_file loads both magics and writes the one it was given.
//
// Errors: "[rowcast.checkpoint.io_error] <path>: <what>: <strerror>" for the file
// system; [rowcast.checkpoint.truncated|invalid_value|unsupported_version|bad_magic|
// limit_exceeded] <path>: <what> for a damaged file.
//
// Thread-safety: one thread at a time per object; two processes must not save to
// the same file.
#pragma once

#include <rowcast/detail/crc32.hpp>
#include <rowcast/error.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

ROWCAST_NAMESPACE_BEGIN

/// What a checkpoint file holds.
struct checkpoint_record {
    std::string cursor;  ///< the source's resume point (opaque here; key=value lines)
    std::string staged;  ///< token of staged output this checkpoint commits; empty = none
    friend bool operator==(const checkpoint_record&, const checkpoint_record&) = default;
};

/// The first line's word and the name used in messages.
struct checkpoint_format {
    std::string_view magic = "rowcast-checkpoint";
    std::string_view description = "rowcast checkpoint";
};

namespace detail::checkpoint {
inline constexpr checkpoint_format generic{};
inline constexpr checkpoint_format binlog_v01{"rowcast-binlog-checkpoint", "rowcast binlog checkpoint"};

inline std::uint32_t crc32(std::string_view s) noexcept { return rowcast::detail::crc32(s.data(), s.size()); }

inline std::string serialize(const checkpoint_record& r, std::string_view magic) {
    std::string s;
    s.reserve(64 + magic.size() + r.cursor.size() + r.staged.size());
    s += magic;
    s += " 1\n";
    s += r.cursor;
    s += '\n';
    if (!r.staged.empty()) {
        s += "staged=";
        s += r.staged;
        s += '\n';
    }
    char tail[32];
    std::snprintf(tail, sizeof tail, "end crc32=%08x\n", static_cast<unsigned>(crc32(s)));
    s += tail;
    return s;
}

// Checks that a cursor is key=value lines with allowed keys; empty string = fine.
inline std::string cursor_problem(std::string_view c) {
    if (c.empty()) return "the cursor is empty";
    if (c.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
        return "the cursor contains a carriage return or NUL";
    std::size_t pos = 0;
    while (pos <= c.size()) {
        const std::size_t nl = std::min(c.find('\n', pos), c.size());
        const std::string_view line = c.substr(pos, nl - pos);
        const std::size_t eq = line.find('=');
        if (line.empty() || eq == std::string_view::npos || eq == 0)
            return "cursor line '" + std::string(line) + "' is not key=value";
        const std::string_view key = line.substr(0, eq);
        if (key == "staged" || key == "end") return "cursor key '" + std::string(key) + "' is reserved";
        pos = nl + 1;
    }
    return {};
}

/// Parses a whole file's contents; `where` names the file in errors.
inline result<checkpoint_record> parse(std::string_view text, std::string_view where, const checkpoint_format& own) {
    auto fail = [&](errc e, std::string_view what) {
        return error::make(e, "checkpoint", where, std::string(what) + " (the file is kept; fix or remove it)");
    };
    if (text.empty()) return fail(errc::truncated, "checkpoint file is empty");
    const checkpoint_format* fmt = nullptr;
    for (const checkpoint_format* f : {&own, &generic, &binlog_v01})
        if (text.starts_with(f->magic) && text.size() > f->magic.size() && text[f->magic.size()] == ' ') {
            fmt = f;
            break;
        }
    if (!fmt) return fail(errc::bad_magic, "not a " + std::string(own.description) + " file");
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
    std::snprintf(computed, sizeof computed, "%08x", static_cast<unsigned>(crc32(body)));
    if (hex != computed)
        return fail(errc::invalid_value, "checksum mismatch (stored " + std::string(hex) + ", computed " + computed +
                                             "): the file is damaged");
    const std::size_t first_nl = body.find('\n');
    const std::string_view version = body.substr(0, first_nl);
    if (version.substr(fmt->magic.size()) != " 1")
        return fail(errc::unsupported_version, "unsupported checkpoint version line '" + std::string(version) + "'");
    checkpoint_record r;
    std::size_t pos = first_nl + 1;
    int line_no = 1;
    bool staged_seen = false;
    while (pos < body.size()) {
        const std::size_t nl = body.find('\n', pos);
        const std::string_view line = body.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return fail(errc::invalid_value, "line " + std::to_string(line_no) + " is not key=value");
        if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)  // save() never writes them
            return fail(errc::invalid_value, "line " + std::to_string(line_no) + " contains a carriage return or NUL");
        if (line.substr(0, eq) == "staged") {
            if (staged_seen || line.size() == eq + 1)
                return fail(errc::invalid_value, "unexpected or repeated key 'staged' on line " + std::to_string(line_no));
            staged_seen = true;
            r.staged = line.substr(eq + 1);
            continue;
        }
        if (staged_seen)
            return fail(errc::invalid_value, "cursor line after 'staged' on line " + std::to_string(line_no));
        if (!r.cursor.empty()) r.cursor += '\n';
        r.cursor += line;
    }
    if (r.cursor.empty()) return fail(errc::missing_field, "no cursor lines");
    return r;
}
}  // namespace detail::checkpoint

/// A checkpoint store in one file (see the top of this header).
class checkpoint_file {
public:
    static constexpr std::size_t max_size = 1 << 20;  ///< larger files are refused by load()

    /// No I/O happens here. The file's directory must exist and be writable when save() is called.
    explicit checkpoint_file(std::filesystem::path path, durability d = durability::file_and_directory,
                             checkpoint_format format = {})
        : path_(std::move(path)), durability_(d), format_(format) {}

    /// The saved record, std::nullopt if the file does not exist, or an error.
    result<std::optional<checkpoint_record>> load() const {
        const std::string where = path_.string();
        auto text = read_small_file(path_, max_size, "checkpoint");
        if (!text) {
            if (text.error_value().code == errc::limit_exceeded)
                return error::make(errc::limit_exceeded, "checkpoint", where,
                                   "checkpoint file is larger than 1 MiB: not a checkpoint (the file is kept)");
            return text.error_value();
        }
        if (!*text) return std::optional<checkpoint_record>{};
        auto r = detail::checkpoint::parse(**text, where, format_);
        if (!r) return r.error_value();
        return std::optional<checkpoint_record>{std::move(*r)};
    }

    /// Saves `r` atomically (refuses a malformed cursor or a staged token with a newline).
    result<void> save(const checkpoint_record& r) {
        const std::string where = path_.string();
        if (auto p = detail::checkpoint::cursor_problem(r.cursor); !p.empty())
            return error::make(errc::invalid_value, "checkpoint", where, p);
        if (r.staged.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos)
            return error::make(errc::invalid_value, "checkpoint", where,
                               "the staged token contains a newline, carriage return or NUL");
        return write_file_atomically(path_, detail::checkpoint::serialize(r, format_.magic), durability_, 0640,
                                     "checkpoint");
    }

    const std::filesystem::path& path() const noexcept { return path_; }
    durability durability_setting() const noexcept { return durability_; }
    const checkpoint_format& format() const noexcept { return format_; }

private:
    std::filesystem::path path_;
    durability durability_;
    checkpoint_format format_;
};

ROWCAST_NAMESPACE_END
