// Internal: the sender's per-channel state: the next sequence number and the
// bounded retransmit ring of the last `size` datagrams, indexed by sequence.
#pragma once

#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::datagram {

class retransmit_ring {
public:
    explicit retransmit_ring(std::size_t size) : slots_(size ? size : 1) {}
    std::size_t size() const noexcept { return slots_.size(); }
    /// The next sequence number (one past the newest datagram).
    std::uint64_t next() const noexcept { return next_; }
    /// The oldest sequence still held.
    std::uint64_t oldest() const noexcept { return next_ > slots_.size() ? next_ - slots_.size() : 0; }
    /// Takes the next sequence number; returns its (cleared) slot to build the datagram in.
    std::string& claim() {
        std::string& s = slots_[next_ % slots_.size()];
        s.clear();
        ++next_;
        return s;
    }
    /// The datagram `seq` if the ring still holds it.
    std::optional<std::string_view> get(std::uint64_t seq) const noexcept {
        if (seq >= next_ || seq < oldest()) return std::nullopt;
        return std::string_view(slots_[seq % slots_.size()]);
    }

    std::chrono::steady_clock::time_point last_send{};

private:
    std::vector<std::string> slots_;
    std::uint64_t next_ = 0;
};

}  // namespace detail::datagram
ROWCAST_NAMESPACE_END
