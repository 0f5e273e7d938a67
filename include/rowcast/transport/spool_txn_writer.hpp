// rowcast/transport/spool_txn_writer.hpp: staged spool writes, published in one
// step when a commit point says so. The building block of exactly-once delivery
// into a spool (binlog/spool_sink.hpp uses it with a checkpoint file).
//
// stage(e) encodes an event into a *staged* file in the spool directory,
//     .stage-<name>-<run>-<ordinal, 12 digits>.<codec>
// Consumers ignore it (its name starts with '.'). <run> is "<ns stamp>_<pid>",
// unique to this writer object; <ordinal> counts the staged files from 1.
// publish(n) renames the staged files with ordinal <= n, in ordinal order, to
// ordinary spool names (spool_writer's, which sort in production order), so a
// consumer sees them in staging order. discard_after(n) removes those > n.
//
// Commit points: mark(n) is a short token "<run>:<n>" for the caller to store
// durably (in a checkpoint) *before* calling publish(n). After a crash, a new
// writer's recover(token) finishes the job: the staged files the token covers
// are published (in order), every other staged file of this name is removed
// (it was never committed; its events will be produced again). So with the
// sequence  stage… → sync() → store mark(n) durably → publish(n)  a crash at any
// instant leaves each event either published exactly once or not at all, with
// the stored token telling which.
//
// Durability (spool_durability): with file or file_and_directory each staged file
// is fsynced when written; sync() fsyncs the directory (file_and_directory) so
// staged names survive a power loss before a token refers to them; publish()
// fsyncs the directory after its renames (file_and_directory). none: no fsync
// (survives kill -9, not a power loss).
//
// Names: `name` ([A-Za-z0-9_], 1..32 characters, default "txn") keeps staged files
// of different producers in one directory apart; open() takes an exclusive lock
// (flock on ".stage-<name>.lock" in the directory, opened with O_NOFOLLOW: a
// symbolic link or anything but a regular file there is refused with io_error),
// so a second writer of the same name fails with io_error instead of removing the
// first one's files. The lock is
// released when the writer is destroyed or the process dies.
//
// Errors: io_error naming the file and errno; open() as spool_writer::open();
// recover() invalid_value for a token or staged name it cannot parse, or when
// some of the staged files the token covers are missing (lost by a power loss
// below file_and_directory: publish() goes in order, so what is left of a
// committed run must be a contiguous run ending at the token's ordinal); the
// files are left alone then. The loss of *all* of them cannot be told from their
// having been published before the crash (consumers may have taken them since),
// so it is not detected: use file_and_directory where a power loss matters.
//
// Thread-safety: one thread at a time.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

struct spool_txn_writer_options {
    std::filesystem::path directory;
    spool_durability durability = spool_durability::file_and_directory;
    mode_t file_mode = 0640;     ///< applied with fchmod to staged (and so published) files
    std::string name = "txn";    ///< [A-Za-z0-9_], 1..32 characters: keeps producers' staged files apart
};

/// What recover() found.
struct spool_recovery {
    std::size_t published = 0;  ///< staged files covered by the token, now published
    std::size_t removed = 0;    ///< staged files not covered, removed
};

template <event_codec Codec>
class spool_txn_writer {
public:
    /// Opens the directory (as spool_writer::open) and locks the staging name.
    /// Staged files already there are left alone until recover() is called.
    static result<spool_txn_writer> open(spool_txn_writer_options opt, Codec codec = Codec{}) {
        const std::string dir = opt.directory.string();
        if (opt.name.empty() || opt.name.size() > 32 ||
            !std::all_of(opt.name.begin(), opt.name.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            }))
            return error::make(errc::invalid_value, "spool", dir,
                               "staging name '" + opt.name + "' must be 1 to 32 characters [A-Za-z0-9_]");
        auto w = spool_writer<Codec>::open({opt.directory, opt.durability, opt.file_mode}, std::move(codec));
        if (!w) return w.error_value();
        const std::string lock_name = ".stage-" + opt.name + ".lock";
        // Never through a link planted in the spool (O_NOFOLLOW), and only a regular file is taken.
        detail::unique_fd lock(::openat(w->directory_fd(), lock_name.c_str(),
                                        O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
        if (!lock && errno == ELOOP)
            return error::make(errc::io_error, "spool", dir + "/" + lock_name,
                               "staging lock file is a symbolic link (refused; remove it)");
        if (!lock) return detail::os_error(errno, "spool", dir + "/" + lock_name, "cannot create staging lock file");
        struct stat lst {};
        if (::fstat(lock.get(), &lst) != 0)
            return detail::os_error(errno, "spool", dir + "/" + lock_name, "cannot stat staging lock file");
        if (!S_ISREG(lst.st_mode))
            return error::make(errc::io_error, "spool", dir + "/" + lock_name,
                               std::string("staging lock file is ") + detail::file_type_name(lst.st_mode) +
                                   ", not a regular file (refused; remove it)");
        if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            if (err == EWOULDBLOCK)
                return error::make(errc::io_error, "spool", dir + "/" + lock_name,
                                   "staging name '" + opt.name + "' is in use by another process");
            return detail::os_error(err, "spool", dir + "/" + lock_name, "cannot lock staging lock file");
        }
        char run[48];
        std::snprintf(run, sizeof run, "%019llu_%ld", static_cast<unsigned long long>(detail::next_spool_stamp()),
                      static_cast<long>(::getpid()));
        return spool_txn_writer(std::move(opt), std::move(*w), std::move(lock), run);
    }

    /// Encodes `e` into a new staged file. Returns its ordinal (1, 2, …).
    result<std::uint64_t> stage(const event& e) {
        buffer_.clear();
        writer_.encode(e, buffer_);
        return stage_encoded(buffer_);
    }

    /// Stages already encoded bytes (one event in this writer's codec).
    result<std::uint64_t> stage_encoded(std::string_view bytes) {
        const std::uint64_t ord = last_staged_ + 1;
        auto r = detail::write_new_file(writer_.directory_fd(), writer_.directory_name(), staged_name(run_, ord),
                                          bytes, opt_.file_mode, opt_.durability != spool_durability::none);
        if (!r) return r.error_value();
        last_staged_ = ord;
        return ord;
    }

    /// Makes the staged files' names durable (fsync of the directory with
    /// file_and_directory; nothing otherwise). Call before storing a token.
    result<void> sync() {
        if (opt_.durability != spool_durability::file_and_directory || synced_ == last_staged_) return {};
        auto r = writer_.sync_directory();
        if (r) synced_ = last_staged_;
        return r;
    }

    /// The commit token for "staged files up to ordinal n": "<run>:<n>".
    std::string mark(std::uint64_t n) const { return run_ + ":" + std::to_string(n); }

    /// Publishes the staged files with ordinals published()+1 … n (n <= last_staged()),
    /// in order. Returns how many. A failure leaves the rest staged, or the renames not
    /// yet fsynced: call again (the next call completes the directory fsync too).
    result<std::size_t> publish(std::uint64_t n) {
        n = std::min(n, last_staged_);
        std::size_t count = 0;
        while (published_ < n) {
            auto r = publish_file(staged_name(run_, published_ + 1));
            if (!r) return r.error_value();
            ++published_;
            ++count;
            renames_unsynced_ = true;
        }
        if (renames_unsynced_ && opt_.durability == spool_durability::file_and_directory) {
            if (auto r = writer_.sync_directory(); !r) return r.error_value();
        }
        renames_unsynced_ = false;
        return count;
    }

    /// Removes the staged files with ordinals above n (n >= published()); later
    /// stage() calls continue from n + 1.
    result<void> discard_after(std::uint64_t n) {
        n = std::max(n, published_);
        while (last_staged_ > n) {
            const std::string name = staged_name(run_, last_staged_);
            if (::unlinkat(writer_.directory_fd(), name.c_str(), 0) != 0 && errno != ENOENT)
                return detail::os_error(errno, "spool", writer_.directory_name() + "/" + name,
                                        "cannot remove staged file");
            --last_staged_;
        }
        synced_ = std::min(synced_, last_staged_);
        return {};
    }

    /// After a restart, before staging anything: publishes the staged files (of any
    /// earlier writer of this name) that `token` covers, removes all others. An
    /// empty token covers nothing.
    result<spool_recovery> recover(std::string_view token) {
        const std::string& dir = writer_.directory_name();
        std::string token_run;
        std::uint64_t token_n = 0;
        if (!token.empty()) {
            const std::size_t colon = token.rfind(':');
            const std::string_view num = colon == std::string_view::npos ? std::string_view{} : token.substr(colon + 1);
            auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), token_n);
            if (colon == std::string_view::npos || num.empty() || ec != std::errc{} || p != num.data() + num.size())
                return error::make(errc::invalid_value, "spool", dir,
                                   "staging token '" + std::string(token) + "' is not <run>:<ordinal>");
            token_run = token.substr(0, colon);
        }
        // Collect this name's staged files.
        struct staged {
            std::string file;
            std::uint64_t ordinal;
        };
        std::vector<staged> publish_list, remove_list;
        const int dup = ::dup(writer_.directory_fd());
        if (dup < 0) return detail::os_error(errno, "spool", dir, "cannot scan spool directory");
        DIR* d = ::fdopendir(dup);
        if (!d) {
            const int err = errno;
            ::close(dup);
            return detail::os_error(err, "spool", dir, "cannot scan spool directory");
        }
        std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
        ::rewinddir(d);
        const std::string prefix = ".stage-" + opt_.name + "-";
        const std::string suffix = "." + std::string(Codec::name);
        while (const dirent* ent = ::readdir(d)) {
            const std::string_view n = ent->d_name;
            if (!n.starts_with(prefix)) continue;  // (the lock file is ".stage-<name>.lock")
            // <prefix><run>-<ordinal>.<ext>
            const std::string_view rest = n.substr(prefix.size());
            const std::size_t dash = rest.rfind('-');
            const std::size_t dot = rest.rfind('.');
            std::uint64_t ord = 0;
            const bool parsed = dash != std::string_view::npos && dot != std::string_view::npos && dot > dash + 1 &&
                                std::from_chars(rest.data() + dash + 1, rest.data() + dot, ord).ptr == rest.data() + dot;
            if (!parsed || !n.ends_with(suffix))
                return error::make(errc::invalid_value, "spool", dir + "/" + std::string(n),
                                   "staged file name not understood (another codec or a foreign file?); "
                                   "nothing was published or removed");
            staged s{std::string(n), ord};
            if (!token_run.empty() && rest.substr(0, dash) == token_run && ord <= token_n)
                publish_list.push_back(std::move(s));
            else
                remove_list.push_back(std::move(s));
        }
        guard.reset();
        std::sort(publish_list.begin(), publish_list.end(), [](const staged& a, const staged& b) {
            return a.ordinal < b.ordinal;
        });
        // publish() goes in order, so what is left of a committed run is a contiguous suffix
        // ending at the token's ordinal; anything else means staged files were lost.
        if (!publish_list.empty()) {
            const std::uint64_t first = publish_list.front().ordinal;
            if (publish_list.back().ordinal != token_n || token_n - first + 1 != publish_list.size())
                return error::make(errc::invalid_value, "spool", dir,
                                   "staged files of the committed token '" + std::string(token) +
                                       "' are missing (" + std::to_string(publish_list.size()) + " present from ordinal " +
                                       std::to_string(first) + "): lost, e.g. by a power loss with a durability "
                                       "below file_and_directory; nothing was published or removed (remove the "
                                       "'.stage-" + opt_.name + "-' files to accept the loss)");
        }
        spool_recovery out;
        for (const auto& s : publish_list) {
            auto r = publish_file(s.file);
            if (!r) return r.error_value();
            ++out.published;
        }
        for (const auto& s : remove_list) {
            if (::unlinkat(writer_.directory_fd(), s.file.c_str(), 0) != 0 && errno != ENOENT)
                return detail::os_error(errno, "spool", dir + "/" + s.file, "cannot remove staged file");
            ++out.removed;
        }
        if ((out.published > 0 || out.removed > 0) && opt_.durability == spool_durability::file_and_directory) {
            if (auto r = writer_.sync_directory(); !r) return r.error_value();
        }
        return out;
    }

    std::uint64_t last_staged() const noexcept { return last_staged_; }  ///< 0 = nothing staged yet
    std::uint64_t published() const noexcept { return published_; }      ///< staged files published so far
    const std::string& run() const noexcept { return run_; }
    const spool_txn_writer_options& options() const noexcept { return opt_; }

private:
    spool_txn_writer(spool_txn_writer_options opt, spool_writer<Codec> w, detail::unique_fd lock, std::string run)
        : opt_(std::move(opt)), writer_(std::move(w)), lock_(std::move(lock)), run_(std::move(run)) {}

    std::string staged_name(const std::string& run, std::uint64_t ord) const {
        char num[24];
        std::snprintf(num, sizeof num, "%012llu", static_cast<unsigned long long>(ord));
        return ".stage-" + opt_.name + "-" + run + "-" + num + "." + std::string(Codec::name);
    }

    result<void> publish_file(const std::string& staged) {
        const std::string final_name = writer_.next_name();
        const int dfd = writer_.directory_fd();
        if (::renameat(dfd, staged.c_str(), dfd, final_name.c_str()) != 0)
            return detail::os_error(errno, "spool", writer_.directory_name() + "/" + staged,
                                    "cannot publish staged file as " + final_name);
        return {};
    }

    spool_txn_writer_options opt_;
    spool_writer<Codec> writer_;
    detail::unique_fd lock_;
    std::string run_;
    std::string buffer_;
    std::uint64_t last_staged_ = 0;
    std::uint64_t published_ = 0;
    std::uint64_t synced_ = 0;
    bool renames_unsynced_ = false;  // publish() renamed files whose directory fsync has not succeeded yet
};

ROWCAST_NAMESPACE_END
