// Internal: HMAC-SHA256 (RFC 2104) with the key's inner and outer SHA-256 states
// computed once. Each MAC copies those two states (EVP_MD_CTX_copy_ex) instead of
// re-keying: dns/tsig.hpp's one-shot HMAC() re-derives the pads and fetches the
// digest on every call (about 1 µs), and a re-initialised EVP_MAC context costs about
// 35 ns more per message than the copies (bench/datagram_bench.cpp HmacSha256*,
// docs/performance.md). The hashing itself (SHA-NI where the CPU has it) is OpenSSL's.
#pragma once

#include <rowcast/version.hpp>

#include <cstddef>
#include <memory>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::datagram {

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

/// One HMAC-SHA256 key. Not thread-safe (one working context): each sender/receiver owns its copy.
class hmac_sha256 {
public:
    static constexpr std::size_t block = 64;

    /// ok() is false if OpenSSL refused (no SHA256 in the provider).
    explicit hmac_sha256(std::string_view key) {
        const EVP_MD* md = EVP_sha256();
        unsigned char k[block] = {};
        unsigned int klen = 0;
        bool good = md != nullptr;
        if (good && key.size() > block)  // RFC 2104: a longer key is hashed first
            good = EVP_Digest(key.data(), key.size(), k, &klen, md, nullptr) == 1;
        else if (good)
            for (std::size_t i = 0; i < key.size(); ++i) k[i] = static_cast<unsigned char>(key[i]);
        unsigned char ipad[block], opad[block];
        for (std::size_t i = 0; i < block; ++i) {
            ipad[i] = static_cast<unsigned char>(k[i] ^ 0x36);
            opad[i] = static_cast<unsigned char>(k[i] ^ 0x5c);
        }
        inner_.reset(EVP_MD_CTX_new());
        outer_.reset(EVP_MD_CTX_new());
        work_.reset(EVP_MD_CTX_new());
        good = good && inner_ && outer_ && work_ && EVP_DigestInit_ex(inner_.get(), md, nullptr) == 1 &&
               EVP_DigestUpdate(inner_.get(), ipad, block) == 1 && EVP_DigestInit_ex(outer_.get(), md, nullptr) == 1 &&
               EVP_DigestUpdate(outer_.get(), opad, block) == 1;
        OPENSSL_cleanse(k, sizeof k);
        OPENSSL_cleanse(ipad, sizeof ipad);
        OPENSSL_cleanse(opad, sizeof opad);
        if (!good) inner_.reset();
    }
    hmac_sha256(const hmac_sha256& o) { copy_from(o); }
    hmac_sha256& operator=(const hmac_sha256& o) {
        if (this != &o) copy_from(o);
        return *this;
    }
    hmac_sha256(hmac_sha256&&) noexcept = default;
    hmac_sha256& operator=(hmac_sha256&&) noexcept = default;
    ~hmac_sha256() = default;

    bool ok() const noexcept { return inner_ != nullptr; }

    /// Writes the 32-byte MAC of `data` to `out`. False on an OpenSSL failure.
    bool compute(std::string_view data, unsigned char (&out)[32]) noexcept {
        if (!inner_) return false;
        unsigned int n = 0;
        return EVP_MD_CTX_copy_ex(work_.get(), inner_.get()) == 1 &&
               EVP_DigestUpdate(work_.get(), data.data(), data.size()) == 1 &&
               EVP_DigestFinal_ex(work_.get(), out, &n) == 1 && n == sizeof out &&
               EVP_MD_CTX_copy_ex(work_.get(), outer_.get()) == 1 && EVP_DigestUpdate(work_.get(), out, sizeof out) == 1 &&
               EVP_DigestFinal_ex(work_.get(), out, &n) == 1 && n == sizeof out;
    }

    /// True if `mac` (32 bytes) is the MAC of `data` (constant-time comparison).
    bool check(std::string_view data, std::string_view mac) noexcept {
        unsigned char want[32];
        return mac.size() == sizeof want && compute(data, want) && CRYPTO_memcmp(want, mac.data(), sizeof want) == 0;
    }

private:
    void copy_from(const hmac_sha256& o) {
        inner_.reset();
        if (!o.inner_) return;
        md_ctx i(EVP_MD_CTX_new()), u(EVP_MD_CTX_new()), w(EVP_MD_CTX_new());
        if (!i || !u || !w || EVP_MD_CTX_copy_ex(i.get(), o.inner_.get()) != 1 || EVP_MD_CTX_copy_ex(u.get(), o.outer_.get()) != 1)
            return;
        inner_ = std::move(i);
        outer_ = std::move(u);
        work_ = std::move(w);
    }

    md_ctx inner_, outer_, work_;  // inner_/outer_: SHA-256 after key^ipad / key^opad; work_: per MAC
};

}  // namespace detail::datagram
ROWCAST_NAMESPACE_END
