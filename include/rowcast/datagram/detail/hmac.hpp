// Internal: HMAC-SHA256 with the key set up once (OpenSSL 3 EVP_MAC). dns/tsig.hpp's
// one-shot HMAC() takes a TSIG key and re-derives the key pads and fetches the
// digest on every call (about 1 µs): too slow for one MAC per datagram, hence this
// keyed context, re-initialised per message with the same key.
#pragma once

#include <rowcast/version.hpp>

#include <cstddef>
#include <memory>
#include <string_view>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::datagram {

struct mac_ctx_free {
    void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

/// One HMAC-SHA256 key. Not thread-safe (one context): each sender/receiver owns its copy.
class hmac_sha256 {
public:
    /// False if OpenSSL refused (no HMAC or SHA256 in the provider): check ok().
    explicit hmac_sha256(std::string_view key) {
        EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (!mac) return;
        ctx_.reset(EVP_MAC_CTX_new(mac));
        EVP_MAC_free(mac);
        if (!ctx_) return;
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
        if (EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1)
            ctx_.reset();
    }
    hmac_sha256(const hmac_sha256& o) : ctx_(o.ctx_ ? EVP_MAC_CTX_dup(o.ctx_.get()) : nullptr) {}
    hmac_sha256& operator=(const hmac_sha256& o) {
        if (this != &o) ctx_.reset(o.ctx_ ? EVP_MAC_CTX_dup(o.ctx_.get()) : nullptr);
        return *this;
    }
    hmac_sha256(hmac_sha256&&) noexcept = default;
    hmac_sha256& operator=(hmac_sha256&&) noexcept = default;

    bool ok() const noexcept { return ctx_ != nullptr; }

    /// Writes the 32-byte MAC of `data` to `out`. False on an OpenSSL failure.
    bool compute(std::string_view data, unsigned char (&out)[32]) noexcept {
        if (!ctx_) return false;
        std::size_t n = 0;
        return EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) == 1 &&
               EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
               EVP_MAC_final(ctx_.get(), out, &n, sizeof out) == 1 && n == sizeof out;
    }

    /// True if `mac` (32 bytes) is the MAC of `data` (constant-time comparison).
    bool check(std::string_view data, std::string_view mac) noexcept {
        unsigned char want[32];
        return mac.size() == sizeof want && compute(data, want) && CRYPTO_memcmp(want, mac.data(), sizeof want) == 0;
    }

private:
    std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx_;
};

}  // namespace detail::datagram
ROWCAST_NAMESPACE_END
