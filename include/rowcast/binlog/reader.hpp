// rowcast/binlog/reader.hpp: frames the events of one binlog file (v4 format,
// MySQL 5.6+/8.x and MariaDB 10.x).
//
// `file_reader::open(path)` checks the magic ("\xfe" "bin"); `next(ev)` reads
// one event at a time, in place in a 256 KiB read-ahead buffer (an event larger
// than that gets a buffer of its size; memory does not depend on the file size),
// learns the checksum algorithm
// from FORMAT_DESCRIPTION and verifies each event's CRC32 when the server wrote
// one. `ev.body` excludes the 19-byte common header and the CRC32 trailer.
// `ev.next_type` is the type of the following event when its header is already in
// the read-ahead buffer (0 otherwise).
//
// Errors (result<bool> holds an error; the reader is then unusable):
//   [rowcast.binlog.bad_magic]      <file>: not a binlog file
//   [rowcast.binlog.truncated]      <file> at offset N: file ends inside an event
//   [rowcast.binlog.invalid_value]  <file> at offset N: CRC32 mismatch / impossible event length /
//                                   end position disagrees with the event size
//   [rowcast.binlog.io_error]       <file>: an OS call failed
// next() returns false at the clean end of the file.
//
// Thread-safety: a reader is used by one thread at a time.
#pragma once

#include <rowcast/binlog/types.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

inline constexpr std::size_t header_size = 19;

struct reader_options {
    bool verify_checksum = true;                  ///< check CRC32 trailers when present
    std::uint32_t max_event_size = 1u << 30;      ///< larger events are an error (bytes; server max is 1 GiB)
    bool check_end_positions = true;              ///< the header's end position must equal offset + size
};

/// Checksum algorithm of the events that follow a FORMAT_DESCRIPTION.
enum class checksum_alg : std::uint8_t { off = 0, crc32 = 1, undefined = 255 };

/// Parses a 19-byte common header from `p` into `ev` (body left empty).
inline void parse_header(const unsigned char* p, raw_event& ev) noexcept {
    detail::binlog::cursor c(p, header_size);
    std::uint64_t v = 0;
    c.le(4, v); ev.timestamp = static_cast<std::uint32_t>(v);
    c.le(1, v); ev.type = static_cast<std::uint8_t>(v);
    c.le(4, v); ev.server_id = static_cast<std::uint32_t>(v);
    c.le(4, v); ev.size = static_cast<std::uint32_t>(v);
    c.le(4, v); ev.next_position = static_cast<std::uint32_t>(v);
    c.le(2, v); ev.flags = static_cast<std::uint16_t>(v);
    ev.next_type = 0;
}

/// Whether a FORMAT_DESCRIPTION body (after the common header, CRC included)
/// carries the checksum-algorithm byte: servers from MySQL 5.6.1 / MariaDB 5.3 on.
inline bool fde_has_checksum_alg(std::string_view body) noexcept {
    if (body.size() < 2 + 50) return false;
    std::string_view ver = body.substr(2, 50);
    const auto f = parse_server_version(ver.substr(0, ver.find('\0')));
    return f.version >= (f.mariadb ? 50300u : 50601u);
}

/// The checksum step of one whole event (`size` bytes at `p`, common header included), shared
/// by file_reader and the replication stream: a FORMAT_DESCRIPTION sets `alg` from its
/// checksum byte (an unknown algorithm is errc::unsupported); when events carry CRC32 the
/// trailer is checked if `verify` (the FORMAT_DESCRIPTION's CRC is computed with its
/// LOG_EVENT_BINLOG_IN_USE_F flag clear, as the server does: the server sets it in the file
/// while the binlog is open). `fail(errc, what)` makes the caller's error (it knows where).
/// Returns the end of the body: `size`, or `size - 4` when a checksum trailer is there.
template <class Fail>
result<std::size_t> checksum_step(const unsigned char* p, std::size_t size, checksum_alg& alg, bool verify, Fail&& fail) {
    std::size_t body_end = size;
    const bool fde = p[4] == static_cast<std::uint8_t>(event_type::format_description);
    if (fde) {
        std::string_view body(reinterpret_cast<const char*>(p) + header_size, size - header_size);
        if (fde_has_checksum_alg(body)) {
            if (body.size() < 57 + 5) return fail(errc::invalid_value, "FORMAT_DESCRIPTION too short");
            const auto a = static_cast<std::uint8_t>(body[body.size() - 5]);
            if (a != 0 && a != 1 && a != 255) return fail(errc::unsupported, "unknown checksum algorithm " + std::to_string(a));
            alg = a == 1 ? checksum_alg::crc32 : checksum_alg::off;
            body_end = size - 4;  // the FDE always reserves the checksum bytes
        } else {
            alg = checksum_alg::off;
        }
    }
    if (alg != checksum_alg::crc32) return body_end;
    if (size < header_size + 4) return fail(errc::invalid_value, "event too short for its CRC32");
    if (verify) {
        const std::uint32_t stored = detail::binlog::load_le32(p + size - 4);
        std::uint32_t calc = 0;
        if (fde) {
            unsigned char hdr[header_size];
            std::memcpy(hdr, p, header_size);
            hdr[17] = static_cast<unsigned char>(hdr[17] & ~1u);
            calc = detail::binlog::crc32(detail::binlog::crc32(hdr, header_size), p + header_size, size - 4 - header_size);
        } else {
            calc = detail::binlog::crc32(p, size - 4);
        }
        if (calc != stored)
            return fail(errc::invalid_value, "CRC32 mismatch (stored " + detail::binlog::hex32(stored) + ", computed " +
                                                 detail::binlog::hex32(calc) + ")");
    }
    return size - 4;
}

class file_reader {
public:
    /// Opens `path` and checks the magic.
    static result<file_reader> open(std::string path, reader_options opt = {}) {
        file_reader r;
        r.file_ = std::move(path);
        r.opt_ = opt;
        r.fd_.reset(::open(r.file_.c_str(), O_RDONLY | O_CLOEXEC));
        if (!r.fd_) return detail::os_error(errno, "binlog", r.file_, "cannot open the binlog file");
        unsigned char magic[4];
        std::size_t got = 0;
        auto rc = r.fill(magic, 4, got);
        if (!rc) return rc.error_value();
        if (got != 4 || std::memcmp(magic, "\xfe" "bin", 4) != 0)
            return error::make(errc::bad_magic, "binlog", r.file_, "not a binlog file (no \\xfebin magic)");
        r.offset_ = 4;
        return r;
    }

    /// Reads the next event. Returns false at the clean end of the file. The event is
    /// read in place in the read-ahead buffer when it fits (up to 256 KiB), else into a
    /// buffer of its size; ev.body is valid until the next call.
    result<bool> next(raw_event& ev) {
        if (failed_) return error::make(errc::invalid_value, "binlog", file_, "reader used after an error");
        auto av = ensure(header_size);
        if (!av) return fail(av.error_value());
        if (*av == 0) return false;
        if (*av < header_size)
            return fail(make(errc::truncated, "file ends inside an event header (" + std::to_string(*av) + " of 19 bytes)"));
        parse_header(ra_.get() + ra_pos_, ev);
        ev.offset = offset_;
        const std::uint32_t min = header_size + (alg_ == checksum_alg::crc32 ? 4 : 0);
        if (ev.size < min || ev.size > opt_.max_event_size)
            return fail(make(errc::invalid_value, "impossible event length " + std::to_string(ev.size)));
        if (opt_.check_end_positions && ev.next_position != 0 &&
            ev.next_position != static_cast<std::uint32_t>(offset_ + ev.size))
            return fail(make(errc::invalid_value, "event end position " + std::to_string(ev.next_position) +
                                                      " disagrees with its length " + std::to_string(ev.size)));
        unsigned char* p = nullptr;
        std::size_t got = 0;
        if (ev.size <= ra_size) {  // in place
            av = ensure(ev.size);
            if (!av) return fail(av.error_value());
            got = std::min<std::size_t>(*av, ev.size);
            p = ra_.get() + ra_pos_;
            if (got == ev.size) ra_pos_ += ev.size;
        } else {  // larger than the read-ahead buffer: a buffer of its own
            buf_.resize(ev.size);
            auto rc = fill(reinterpret_cast<unsigned char*>(buf_.data()), ev.size, got);
            if (!rc) return fail(rc.error_value());
            p = reinterpret_cast<unsigned char*>(buf_.data());
        }
        if (got < ev.size)
            return fail(make(errc::truncated, "file ends inside a " + std::string(to_string(static_cast<event_type>(ev.type))) +
                                                  " event (" + std::to_string(got) + " of " + std::to_string(ev.size) +
                                                  " bytes)"));
        auto body_end = checksum_step(p, ev.size, alg_, opt_.verify_checksum,
                                      [this](errc e, std::string_view what) { return make(e, what); });
        if (!body_end) return fail(body_end.error_value());
        ev.body = std::string_view(reinterpret_cast<const char*>(p) + header_size, *body_end - header_size);
        // Peek at the next event's type when its header is already read (never reads: that could move p).
        ev.next_type = ra_len_ - ra_pos_ >= header_size ? ra_[ra_pos_ + 4] : 0;
        offset_ += ev.size;
        ++events_;
        return true;
    }

    const std::string& file() const noexcept { return file_; }
    /// Offset of the next event to read.
    std::uint64_t offset() const noexcept { return offset_; }
    checksum_alg checksum() const noexcept { return alg_; }
    std::uint64_t events_read() const noexcept { return events_; }

private:
    file_reader() = default;

    error make(errc e, std::string_view what) const {
        return error::make(e, "binlog", file_ + " at offset " + std::to_string(offset_), what);
    }
    error fail(error e) {
        failed_ = true;
        return e;
    }
    // Makes at least n (<= ra_size) bytes available at ra_pos_ (moving the unread rest to the
    // front of the buffer and reading more); returns how many are available (< n only at EOF).
    result<std::size_t> ensure(std::size_t n) {
        if (!ra_) ra_ = std::make_unique<unsigned char[]>(ra_size);
        if (ra_len_ - ra_pos_ >= n) return ra_len_ - ra_pos_;
        if (ra_pos_ > 0) {
            std::memmove(ra_.get(), ra_.get() + ra_pos_, ra_len_ - ra_pos_);
            ra_len_ -= ra_pos_;
            ra_pos_ = 0;
        }
        while (ra_len_ < n) {
            const ssize_t r = ::read(fd_.get(), ra_.get() + ra_len_, ra_size - ra_len_);
            if (r < 0) {
                if (errno == EINTR) continue;
                return detail::os_error(errno, "binlog", file_, "read failed");
            }
            if (r == 0) break;
            ra_len_ += static_cast<std::size_t>(r);
        }
        return ra_len_ - ra_pos_;
    }
    // Copies up to n bytes from the file (through the read-ahead buffer); got < n only at EOF.
    result<void> fill(unsigned char* dst, std::size_t n, std::size_t& got) {
        got = 0;
        while (got < n) {
            if (ra_pos_ < ra_len_) {
                const std::size_t k = std::min(n - got, ra_len_ - ra_pos_);
                std::memcpy(dst + got, ra_.get() + ra_pos_, k);
                ra_pos_ += k;
                got += k;
                continue;
            }
            if (n - got >= ra_size) {  // large remainder: read straight into the destination
                const ssize_t r = ::read(fd_.get(), dst + got, n - got);
                if (r < 0) {
                    if (errno == EINTR) continue;
                    return detail::os_error(errno, "binlog", file_, "read failed");
                }
                if (r == 0) return {};
                got += static_cast<std::size_t>(r);
                continue;
            }
            if (!ra_) ra_ = std::make_unique<unsigned char[]>(ra_size);
            const ssize_t r = ::read(fd_.get(), ra_.get(), ra_size);
            if (r < 0) {
                if (errno == EINTR) continue;
                return detail::os_error(errno, "binlog", file_, "read failed");
            }
            if (r == 0) return {};
            ra_pos_ = 0;
            ra_len_ = static_cast<std::size_t>(r);
        }
        return {};
    }

    static constexpr std::size_t ra_size = 256 * 1024;
    std::string file_;
    reader_options opt_;
    detail::unique_fd fd_;
    std::unique_ptr<unsigned char[]> ra_;
    std::size_t ra_pos_ = 0, ra_len_ = 0;
    std::string buf_;
    std::uint64_t offset_ = 0;
    std::uint64_t events_ = 0;
    checksum_alg alg_ = checksum_alg::undefined;
    bool failed_ = false;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
