// rowcast/backoff.hpp: the one retry backoff policy (reconnects, handler retries,
// sink back-pressure).
//
// The first wait is `initial`; each further failure multiplies it by
// `multiplier`, up to `max`. With `jitter` j (0..1) each wait is drawn uniformly
// from [w·(1−j), w], so many clients retrying the same server spread out. A
// success calls reset(). `max_attempts` (0 = unlimited) bounds the consecutive
// failures: next() returns std::nullopt once they are used up.
//
//   rowcast::backoff b({.initial = 100ms, .max = 10s});
//   while (!connect()) {
//       auto wait = b.next();
//       if (!wait) return give_up();
//       sleep(*wait);
//   }
//   b.reset();
//
// Thread-safety: one thread at a time per object.
#pragma once

#include <rowcast/version.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

ROWCAST_NAMESPACE_BEGIN

struct backoff_policy {
    std::chrono::milliseconds initial{100};  ///< first wait (>= 1 ms is used)
    std::chrono::milliseconds max{30000};    ///< waits never exceed this
    double multiplier = 2.0;                 ///< growth per consecutive failure (>= 1)
    double jitter = 0.0;                     ///< 0: exact waits; 0.2: each wait in [0.8 w, w]
    unsigned max_attempts = 0;               ///< consecutive failures allowed (0 = unlimited)
};

class backoff {
public:
    explicit backoff(backoff_policy p = {}) noexcept : p_(p) {
        p_.initial = std::max(p_.initial, std::chrono::milliseconds(1));
        p_.max = std::max(p_.max, p_.initial);
        p_.multiplier = std::max(p_.multiplier, 1.0);
        p_.jitter = std::clamp(p_.jitter, 0.0, 1.0);
        seed_ ^= reinterpret_cast<std::uintptr_t>(this);
    }

    /// Records a failure and returns how long to wait before the next try, or
    /// std::nullopt when max_attempts consecutive failures have been used up.
    std::optional<std::chrono::milliseconds> next() noexcept {
        if (p_.max_attempts > 0 && attempts_ >= p_.max_attempts) return std::nullopt;
        ++attempts_;
        current_ = attempts_ == 1 ? p_.initial
                                  : std::min(p_.max, std::chrono::milliseconds(static_cast<std::int64_t>(
                                                         static_cast<double>(current_.count()) * p_.multiplier)));
        if (p_.jitter <= 0.0) return current_;
        const double u = static_cast<double>(random() >> 11) / static_cast<double>(std::uint64_t{1} << 53);
        const double w = static_cast<double>(current_.count()) * (1.0 - p_.jitter * u);
        return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(w)));
    }

    /// A success: the next failure waits `initial` again and the attempt count restarts.
    void reset() noexcept {
        attempts_ = 0;
        current_ = std::chrono::milliseconds(0);
    }

    /// Consecutive failures since the last reset().
    unsigned attempts() const noexcept { return attempts_; }
    /// The last wait before jitter (0 after reset()).
    std::chrono::milliseconds current() const noexcept { return current_; }
    const backoff_policy& policy() const noexcept { return p_; }

private:
    std::uint64_t random() noexcept {  // xorshift64*: jitter only, not for security
        seed_ ^= seed_ >> 12;
        seed_ ^= seed_ << 25;
        seed_ ^= seed_ >> 27;
        return seed_ * 0x2545F4914F6CDD1DULL;
    }

    backoff_policy p_;
    unsigned attempts_ = 0;
    std::chrono::milliseconds current_{0};
    std::uint64_t seed_ = 0x9E3779B97F4A7C15ULL;
};

ROWCAST_NAMESPACE_END
