// Internal: the client side of the authentication plugins' computations (no I/O):
//   mysql_native_password  SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)))
//   caching_sha2_password  SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce)  (the fast path)
//   RSA exchange           (pw + NUL) XOR nonce (repeated), encrypted with the server's RSA public key
//                          with OAEP padding (caching_sha2_password's full path and sha256_password
//                          without TLS; MySQL ≥ 8.0.5 servers)
//   client_ed25519         MariaDB's Ed25519 signature of the server's 32-byte nonce with the key
//                          derived from the password: az = SHA512(password) (any length, not a
//                          32-byte seed as in RFC 8032), clamped; A = az·B; r = SHA512(az[32..64] + m)
//                          mod L; R = r·B; S = r + SHA512(R + A + m)·az mod L; signature R + S
//                          (MariaDB plugin/auth_ed25519/ref10/sign.c). Group arithmetic by libsodium.
// Errors: [rowcast.<component>.invalid_value] for a public key that does not parse, or a password
// too long for the key.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail::mysql {

inline const unsigned char* uchars(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

/// mysql_native_password: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))); empty for an empty password.
inline std::string native_password_scramble(std::string_view password, std::string_view nonce) {
    if (password.empty()) return {};
    unsigned char h1[SHA_DIGEST_LENGTH], h2[SHA_DIGEST_LENGTH], h3[SHA_DIGEST_LENGTH];
    SHA1(uchars(password), password.size(), h1);
    SHA1(h1, sizeof h1, h2);
    std::string buf(nonce.substr(0, 20));
    buf.append(reinterpret_cast<const char*>(h2), sizeof h2);
    SHA1(uchars(buf), buf.size(), h3);
    std::string out(SHA_DIGEST_LENGTH, '\0');
    for (std::size_t i = 0; i < SHA_DIGEST_LENGTH; ++i) out[i] = static_cast<char>(h1[i] ^ h3[i]);
    return out;
}

/// caching_sha2_password's fast-path scramble (32 bytes); empty for an empty password.
inline std::string caching_sha2_scramble(std::string_view password, std::string_view nonce) {
    if (password.empty()) return {};
    unsigned char s1[SHA256_DIGEST_LENGTH], s2[SHA256_DIGEST_LENGTH], s3[SHA256_DIGEST_LENGTH];
    SHA256(uchars(password), password.size(), s1);
    SHA256(s1, sizeof s1, s2);
    std::string buf(reinterpret_cast<const char*>(s2), sizeof s2);
    buf.append(nonce.substr(0, 20));
    SHA256(uchars(buf), buf.size(), s3);
    std::string out(SHA256_DIGEST_LENGTH, '\0');
    for (std::size_t i = 0; i < SHA256_DIGEST_LENGTH; ++i) out[i] = static_cast<char>(s1[i] ^ s3[i]);
    return out;
}

/// (password + NUL) XOR nonce, RSA-OAEP encrypted with the PEM public key ("BEGIN PUBLIC KEY").
inline result<std::string> rsa_encrypt_password(std::string_view password, std::string_view nonce,
                                               std::string_view pem, std::string_view component,
                                               std::string_view where) {
    auto bad = [&](std::string what) { return error::make(errc::invalid_value, component, where, std::move(what)); };
    if (nonce.empty()) return bad("no nonce for the RSA password exchange");
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!bio) return bad("out of memory reading the server's public key");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                            &EVP_PKEY_free);
    if (!key) return bad("the server's RSA public key is not a PEM public key");
    std::string plain(password);
    plain += '\0';
    for (std::size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>(plain[i] ^ nonce[i % nonce.size()]);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                   &EVP_PKEY_CTX_free);
    std::size_t n = 0;
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &n, uchars(plain), plain.size()) <= 0)
        return bad("the server's public key is not an RSA key");
    std::string out(n, '\0');
    const int rc = EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, uchars(plain), plain.size());
    OPENSSL_cleanse(plain.data(), plain.size());
    if (rc <= 0) return bad("the password is too long for the server's RSA key");
    out.resize(n);
    return out;
}

/// MariaDB client_ed25519: the 64-byte signature of `message` (the server's nonce).
inline std::string ed25519_password_signature(std::string_view password, std::string_view message) {
    static const bool ready = sodium_init() >= 0;  // thread-safe, idempotent
    (void)ready;
    std::array<unsigned char, 64> az{}, nonce{}, hram{};
    SHA512(uchars(password), password.size(), az.data());
    az[0] &= 248;
    az[31] &= 63;
    az[31] |= 64;
    std::array<unsigned char, 64> wide{};  // az's scalar half, reduced mod L
    std::memcpy(wide.data(), az.data(), 32);
    std::array<unsigned char, 32> a{}, r{}, k{}, A{}, R{}, ka{}, S{};
    crypto_core_ed25519_scalar_reduce(a.data(), wide.data());
    (void)crypto_scalarmult_ed25519_base_noclamp(A.data(), a.data());
    std::string buf(reinterpret_cast<const char*>(az.data()) + 32, 32);
    buf.append(message);
    SHA512(uchars(buf), buf.size(), nonce.data());
    crypto_core_ed25519_scalar_reduce(r.data(), nonce.data());
    (void)crypto_scalarmult_ed25519_base_noclamp(R.data(), r.data());
    buf.assign(reinterpret_cast<const char*>(R.data()), 32);
    buf.append(reinterpret_cast<const char*>(A.data()), 32);
    buf.append(message);
    SHA512(uchars(buf), buf.size(), hram.data());
    crypto_core_ed25519_scalar_reduce(k.data(), hram.data());
    crypto_core_ed25519_scalar_mul(ka.data(), k.data(), a.data());
    crypto_core_ed25519_scalar_add(S.data(), r.data(), ka.data());
    std::string sig(reinterpret_cast<const char*>(R.data()), 32);
    sig.append(reinterpret_cast<const char*>(S.data()), 32);
    sodium_memzero(az.data(), az.size());
    sodium_memzero(a.data(), a.size());
    sodium_memzero(wide.data(), wide.size());
    return sig;
}

}  // namespace detail::mysql
ROWCAST_NAMESPACE_END
