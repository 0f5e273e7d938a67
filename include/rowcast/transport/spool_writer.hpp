// rowcast/transport/spool_writer.hpp: the spool producer, one file per event.
//
// `spool_writer<Codec>` encodes each event with `Codec` and writes it into a
// spool directory atomically: the bytes go to a temporary file inside the
// directory (a name starting with '.', which consumers ignore), which is then
// renamed into place, so a consumer never sees a partial file.
//
// File names sort in production order and never collide, between threads or
// between processes writing the same directory:
//     <ns since epoch, 19 digits>-<sequence, 12 digits>-<pid>.<codec name>
// e.g. "1795352710000000123-000000000042-4711.json". The nanosecond stamp is
// strictly increasing within a process (a clock step backwards does not reorder
// its files), the sequence counts this writer's events from 1, and the pid
// keeps concurrent processes apart.
//
// Durability (spool_durability): none (rename only: survives a crash of the
// process, not of the machine), file (fsync the file before the rename), or
// file_and_directory (also fsync the directory after the rename: the event
// survives a power loss once write() returned).
//
// Errors: open() fails with io_error if the directory is missing, not a
// directory or not writable (checked by creating and removing a probe file);
// write() returns io_error naming the file and errno (ENOSPC, EACCES…). An
// event is never dropped silently: either write() succeeded or it says why not.
//
// Thread-safety: write() may be called from any number of threads at once
// (encoding is serialised by a mutex; file I/O runs in parallel).
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/version.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

/// How much a spool write waits for the disk (rowcast::durability, os/atomic_file.hpp).
using spool_durability = durability;

struct spool_writer_options {
    std::filesystem::path directory;
    spool_durability durability = spool_durability::file_and_directory;
    mode_t file_mode = 0640;  ///< applied with fchmod, so the process umask does not change it
};

namespace detail {
/// Nanoseconds since the epoch, strictly increasing across all calls in this process.
inline std::uint64_t next_spool_stamp() noexcept {
    static std::atomic<std::uint64_t> last{0};
    const auto now = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    std::uint64_t prev = last.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
        next = now > prev ? now : prev + 1;
    } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
    return next;
}
}  // namespace detail

template <event_codec Codec>
class spool_writer {
public:
    /// Opens a writer on an existing, writable directory.
    static result<spool_writer> open(spool_writer_options opt, Codec codec = Codec{}) {
        const std::string dir = opt.directory.string();
        detail::unique_fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dfd) return detail::os_error(errno, "spool", dir, "cannot open spool directory");
        // Probe that we may create files there (the server user must own or be allowed to write it).
        const std::string probe = ".probe-" + std::to_string(::getpid()) + "-" +
                                  std::to_string(detail::next_spool_stamp());
        detail::unique_fd pf(::openat(dfd.get(), probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!pf) return detail::os_error(errno, "spool", dir, "spool directory is not writable");
        pf.reset();
        ::unlinkat(dfd.get(), probe.c_str(), 0);
        return spool_writer(std::move(opt), std::move(codec), std::move(dfd));
    }

    /// Encodes `e` and writes it as one file. Returns the file's name (not the full path).
    result<std::string> write_file(const event& e) {
        thread_local std::string buffer;
        buffer.clear();
        encode(e, buffer);
        return write_encoded(buffer);
    }

    /// event_sink (pipeline/sink.hpp): write_file() without the name.
    result<void> write(const event& e) {
        auto r = write_file(e);
        if (!r) return r.error_value();
        return {};
    }
    /// event_sink: one file per event, in order; stops at the first failure (the events
    /// before it are written).
    result<void> write(std::span<const event> batch) { return write_each(*this, batch); }
    /// event_sink: nothing is buffered (each write() is on disk as its durability says).
    result<void> flush() { return {}; }

    /// Writes already encoded bytes (one event in this writer's codec) as one file.
    result<std::string> write_encoded(std::string_view bytes) {
        const std::string final_name = next_name();
        const std::string tmp_name = "." + final_name + ".tmp";
        const int dfd = state_->dir.get();
        const std::string& dir = state_->dir_name;
        auto w = detail::write_new_file(dfd, dir, tmp_name, bytes, state_->options.file_mode,
                                          state_->options.durability != spool_durability::none);
        if (!w) return w.error_value();
        if (::renameat(dfd, tmp_name.c_str(), dfd, final_name.c_str()) != 0) {
            const int err = errno;
            ::unlinkat(dfd, tmp_name.c_str(), 0);
            return detail::os_error(err, "spool", dir + "/" + final_name, "cannot rename spool file into place");
        }
        if (state_->options.durability == spool_durability::file_and_directory) {
            if (auto r = sync_directory(); !r) return r.error_value();
        }
        return final_name;
    }

    /// A fresh final file name (see the top of this header); takes the next
    /// sequence number. For producers that place files themselves, such as
    /// spool_txn_writer, which renames staged files to these names.
    std::string next_name() {
        const std::uint64_t seq = state_->sequence.fetch_add(1, std::memory_order_relaxed) + 1;
        char name[96];
        std::snprintf(name, sizeof name, "%019llu-%012llu-%ld.%.*s",
                      static_cast<unsigned long long>(detail::next_spool_stamp()),
                      static_cast<unsigned long long>(seq), static_cast<long>(::getpid()),
                      static_cast<int>(std::string_view(Codec::name).size()), std::string_view(Codec::name).data());
        return name;
    }

    /// Encodes `e` with this writer's codec, appending to `out` (serialised with write()).
    void encode(const event& e, std::string& out) {
        std::lock_guard lock(state_->mutex);
        state_->codec.encode(e, out);
    }

    /// fsyncs the spool directory (io_error naming it on failure).
    result<void> sync_directory() {
        if (::fsync(state_->dir.get()) != 0)
            return detail::os_error(errno, "spool", state_->dir_name, "cannot fsync spool directory");
        return {};
    }

    /// The open spool directory (owned by the writer; valid while it lives).
    int directory_fd() const noexcept { return state_->dir.get(); }
    const std::string& directory_name() const noexcept { return state_->dir_name; }

    const spool_writer_options& options() const noexcept { return state_->options; }

    /// Number of files this writer has named so far (its last sequence number).
    std::uint64_t sequence() const noexcept { return state_->sequence.load(std::memory_order_relaxed); }

private:
    struct state {
        spool_writer_options options;
        std::string dir_name;
        detail::unique_fd dir;
        std::mutex mutex;
        Codec codec;
        std::atomic<std::uint64_t> sequence{0};
    };

    spool_writer(spool_writer_options opt, Codec codec, detail::unique_fd dfd)
        : state_(std::make_unique<state>()) {
        state_->dir_name = opt.directory.string();
        state_->options = std::move(opt);
        state_->dir = std::move(dfd);
        state_->codec = std::move(codec);
    }

    std::unique_ptr<state> state_;  // stable address: writers are movable, the mutex and atomics are not
};

ROWCAST_NAMESPACE_END
