// rowcast/transport/stream_sink.hpp: an event_sink that writes encoded events to
// a file descriptor (stdout, a pipe, a file, a socket).
//
//   rowcast::stream_sink out(STDOUT_FILENO, rowcast::json_codec{});      // or (stdout, codec)
//   auto r = rowcast::run(reader, out, stop.get_token());
//
// Framing, by codec: JSON as JSON Lines (one object and '\n' per event), YAML as
// one "---" document per event, binary as the codec's self-delimiting records
// back to back (any other codec: its encoding as it is). So the output is read
// back by calling the codec's decode() on the rest of the input.
//
// Keyed lines (stream_sink_options::key_separator, a keyed_codec such as json_codec):
// each event is one line "<key><sep><message>\n", and a tombstone the codec asks for
// (a Debezium delete, debezium_options::tombstones_on_delete) the line "<key><sep>\n"
// with an empty value. That is kcat's producer input: `kcat -P -t topic -K '<sep>' -Z`
// sends each line's key and value, and an empty value as NULL (a Kafka tombstone).
// Choose a separator compact JSON never holds unescaped (a tab, or the byte 0x1f).
//
// Buffering (stream_sink_options::flush):
//   each_write  every write() call (one event or one batch) ends with its bytes
//               handed to the descriptor: one write(2) per call (default);
//   group_end   bytes go out at each group end (commit, rollback, DDL outside a
//               transaction: rowcast::ends_group) or when buffer_size is reached;
//   when_full   only when buffer_size is reached and on flush().
// flush() writes everything pending; rowcast::run() calls it when it ends.
//
// Errors: a failing write(2) (EPIPE, ENOSPC, EAGAIN on a non-blocking descriptor…)
// is returned as "[rowcast.stream.io_error] <name>: write failed: <strerror>",
// errc::io_error, which is transient (rowcast::is_transient): retry later. The
// sink contract holds: a write() that returns an error has not taken its event
// (or, for a batch, any of it): its bytes are dropped from the buffer and the
// caller tries again. An event some of whose bytes already went out is taken:
// the rest stays pending, write() succeeds, and the next write() or flush()
// retries those bytes (and reports the error if it persists). Bytes buffered
// before a failing call stay pending too. A program that writes to a pipe and
// should end when the reader goes away either keeps SIGPIPE's default action or
// treats EPIPE as final.
//
// The descriptor is not owned (not closed); with a FILE* the FILE's own buffer
// is flushed first and then bypassed (do not mix both on one stream).
//
// Thread-safety: one thread at a time per sink.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

/// When a stream_sink hands its buffer to the descriptor (see the header comment).
enum class stream_flush { each_write, group_end, when_full };

struct stream_sink_options {
    /// Names the descriptor in error messages; default "stdout"/"stderr" for 1/2, else "fd <n>".
    std::string name;
    stream_flush flush = stream_flush::each_write;
    /// group_end and when_full: bytes buffered before they are written anyway (>= 1).
    std::size_t buffer_size = std::size_t{64} << 10;
    /// Non-empty: keyed lines (see the header comment); needs a keyed_codec, else write()
    /// fails with errc::invalid_value. Empty (default): the codec's framing, no keys.
    std::string key_separator;
};

/// The bytes written after each event's encoding: "\n" for JSON Lines, nothing for
/// codecs whose encodings are self-delimiting (YAML documents, binary records).
template <event_codec Codec>
constexpr std::string_view stream_separator() noexcept {
    return std::string_view(Codec::name) == "json" ? std::string_view("\n") : std::string_view();
}

template <event_codec Codec>
class stream_sink {
public:
    explicit stream_sink(int fd, Codec codec = Codec{}, stream_sink_options opt = {})
        : fd_(fd), codec_(std::move(codec)), opt_(std::move(opt)) {
        if (opt_.name.empty())
            opt_.name = fd == STDOUT_FILENO ? "stdout" : fd == STDERR_FILENO ? "stderr" : "fd " + std::to_string(fd);
        if (opt_.buffer_size == 0) opt_.buffer_size = 1;
    }
    /// Writes to fileno(f) after flushing f's own buffer.
    explicit stream_sink(std::FILE* f, Codec codec = Codec{}, stream_sink_options opt = {})
        : stream_sink(fd_of(f), std::move(codec), std::move(opt)) {}

    stream_sink(stream_sink&&) noexcept = default;
    stream_sink& operator=(stream_sink&&) noexcept = default;

    /// Encodes `e` and (by the flush policy) writes it; see the header for errors.
    result<void> write(const event& e) {
        if (auto k = check_keyed(); !k) return k;
        const std::size_t mark = buf_.size();
        append(e);
        return settle(mark, opt_.flush == stream_flush::each_write || (opt_.flush == stream_flush::group_end && group_ended_));
    }

    /// Encodes the batch and (by the flush policy) writes it with one write(2).
    result<void> write(std::span<const event> batch) {
        if (auto k = check_keyed(); !k) return k;
        const std::size_t mark = buf_.size();
        bool ended = false;
        for (const event& e : batch) {
            append(e);
            ended = ended || group_ended_;
        }
        return settle(mark, opt_.flush == stream_flush::each_write || (opt_.flush == stream_flush::group_end && ended));
    }

    /// Writes everything pending.
    result<void> flush() {
        if (const int err = drain(); err != 0) return fail(err);
        return {};
    }

    /// Bytes encoded and not yet handed to the descriptor.
    std::size_t pending() const noexcept { return buf_.size() - done_; }
    int native_handle() const noexcept { return fd_; }
    const std::string& name() const noexcept { return opt_.name; }
    Codec& codec() noexcept { return codec_; }

private:
    static int fd_of(std::FILE* f) noexcept {
        if (!f) return -1;
        std::fflush(f);
        return ::fileno(f);
    }

    void append(const event& e) {
        group_ended_ = ends_group(e, in_txn_);
        if constexpr (keyed_codec<Codec>) {
            if (!opt_.key_separator.empty()) {
                key_.clear();
                codec_.encode_key(e, key_);
                buf_ += key_;
                buf_ += opt_.key_separator;
                codec_.encode(e, buf_);
                buf_ += '\n';
                if (codec_.tombstone_after(e)) {
                    buf_ += key_;
                    buf_ += opt_.key_separator;
                    buf_ += '\n';
                }
                return;
            }
        }
        codec_.encode(e, buf_);
        buf_ += stream_separator<Codec>();
    }

    result<void> check_keyed() const {
        if constexpr (!keyed_codec<Codec>) {
            if (!opt_.key_separator.empty())
                return error::make(errc::invalid_value, "stream", opt_.name,
                                   "key_separator needs a codec with message keys (json), not " + std::string(Codec::name));
        }
        return {};
    }

    // After appending the bytes from `mark` on: write them now or when the buffer is full.
    result<void> settle(std::size_t mark, bool now) {
        if (!now && pending() < opt_.buffer_size) return {};
        if (const int err = drain(); err != 0) {
            if (done_ <= mark) {  // none of this call's bytes went out: it has not been taken
                buf_.resize(mark);
                return fail(err);
            }
            return {};  // partly out: taken; the rest is pending for the next call
        }
        return {};
    }

    // Writes the pending bytes; 0 or an errno (then done_ says how far it got).
    int drain() noexcept {
        while (done_ < buf_.size()) {
            const ssize_t n = ::write(fd_, buf_.data() + done_, buf_.size() - done_);
            if (n < 0) {
                if (errno == EINTR) continue;
                return errno;
            }
            done_ += static_cast<std::size_t>(n);
        }
        buf_.clear();
        done_ = 0;
        return 0;
    }

    error fail(int err) const { return detail::os_error(err, "stream", opt_.name, "write failed"); }

    int fd_;
    Codec codec_;
    stream_sink_options opt_;
    std::string buf_;
    std::string key_;       // keyed lines: the current event's key
    std::size_t done_ = 0;  // bytes of buf_ already written
    bool in_txn_ = false;
    bool group_ended_ = false;
};

template <class Codec>
stream_sink(int, Codec) -> stream_sink<Codec>;
template <class Codec>
stream_sink(int, Codec, stream_sink_options) -> stream_sink<Codec>;
template <class Codec>
stream_sink(std::FILE*, Codec) -> stream_sink<Codec>;
template <class Codec>
stream_sink(std::FILE*, Codec, stream_sink_options) -> stream_sink<Codec>;

ROWCAST_NAMESPACE_END
