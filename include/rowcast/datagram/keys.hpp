// rowcast/datagram/keys.hpp: the shared secrets that authenticate datagrams.
//
// A key_set holds HMAC-SHA256 keys by 16-bit key id. A sender signs with the
// active key (its id travels in every frame); a receiver accepts a frame signed by
// any key in its set. Rotation: add the new key to every receiver, then make it
// active at the senders, then remove the old one from the receivers.
//
//   rowcast::datagram::key_set keys;
//   keys.add(1, secret_bytes).value();      // at least 16 bytes
//   keys.activate(1).value();
//
// An empty set means "no authentication": a sender sends frames without a MAC and
// a receiver accepts only those; a receiver with keys drops unauthenticated frames
// (counted). Secrets stay in memory in this object only.
//
// Thread-safety: a key_set is copied into each producer and consumer; one object
// is used by one thread at a time.
#pragma once

#include <rowcast/datagram/detail/hmac.hpp>
#include <rowcast/datagram/frame.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace datagram {

class key_set {
public:
    static constexpr std::size_t min_secret_size = 16;

    /// Adds (or replaces) key `id`. Errors: invalid_value (secret shorter than 16 bytes),
    /// unsupported (OpenSSL has no HMAC-SHA256).
    result<void> add(std::uint16_t id, std::string_view secret) {
        if (secret.size() < min_secret_size)
            return error::make(errc::invalid_value, "datagram", "key " + std::to_string(id),
                               "secret shorter than 16 bytes");
        detail::datagram::hmac_sha256 h(secret);
        if (!h.ok()) return error::make(errc::unsupported, "datagram", "key " + std::to_string(id), "OpenSSL has no HMAC-SHA256");
        keys_.insert_or_assign(id, std::move(h));
        if (!active_) active_ = id;
        return {};
    }
    /// Removes key `id` (the active key cannot be removed: not_found / invalid_value).
    result<void> remove(std::uint16_t id) {
        if (active_ == id) return error::make(errc::invalid_value, "datagram", "key " + std::to_string(id), "is the active key");
        if (keys_.erase(id) == 0) return error::make(errc::not_found, "datagram", "key " + std::to_string(id), "no such key");
        return {};
    }
    /// Makes key `id` the one senders sign with. Errors: not_found.
    result<void> activate(std::uint16_t id) {
        if (!keys_.count(id)) return error::make(errc::not_found, "datagram", "key " + std::to_string(id), "no such key");
        active_ = id;
        return {};
    }
    bool empty() const noexcept { return keys_.empty(); }
    std::optional<std::uint16_t> active() const noexcept { return active_; }

    /// Sender side: sets the MAC flag and key id of a header about to be written.
    void prepare(frame_header& h) const noexcept {
        h.has_mac = active_.has_value();
        h.key_id = active_.value_or(0);
    }
    /// Sender side: appends the MAC of `frame` (all bytes from `at`) when a key is active.
    /// False on an OpenSSL failure.
    bool sign(std::string& frame, std::size_t at = 0) {
        if (!active_) return true;
        unsigned char mac[mac_size];
        if (!keys_.at(*active_).compute(std::string_view(frame).substr(at), mac)) return false;
        frame.append(reinterpret_cast<const char*>(mac), mac_size);
        return true;
    }

    enum class verdict { ok, unauthenticated, unknown_key, bad_mac };
    /// Receiver side: checks a parsed frame's MAC against the set.
    verdict verify(const frame_view& f) {
        if (keys_.empty()) return f.header.has_mac ? verdict::unknown_key : verdict::ok;
        if (!f.header.has_mac) return verdict::unauthenticated;
        auto it = keys_.find(f.header.key_id);
        if (it == keys_.end()) return verdict::unknown_key;
        return it->second.check(f.signed_part, f.mac) ? verdict::ok : verdict::bad_mac;
    }

private:
    std::map<std::uint16_t, detail::datagram::hmac_sha256> keys_;
    std::optional<std::uint16_t> active_;
};

}  // namespace datagram
ROWCAST_NAMESPACE_END
