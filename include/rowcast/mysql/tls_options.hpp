// rowcast/mysql/tls_options.hpp: how every rowcast connection to a MySQL or MariaDB server
// protects itself: TLS mode and files, and the RSA key used by caching_sha2_password /
// sha256_password without TLS. One struct for every connection: rowcast's client
// (mysql::connect_options::tls: the replication stream, and mysql::connection for the schema
// provider, the trigger generator, the snapshot reader, the SQL sink and the outbox store).
// Every program exposes it with the same flags
// (--ssl-mode, --ssl-ca, --ssl-cert, --ssl-key, --ssl-cipher, --get-server-public-key,
// --server-public-key; docs/connecting.md).
//
// Modes, as the mysql client names them:
//   DISABLED         plain connection.
//   PREFERRED        TLS when the server offers it, plain otherwise; the certificate is not
//                    checked (protects against listening, not against a man in the middle).
//                    Over a Unix socket: plain (the socket is local). The default.
//   REQUIRED         TLS or fail; the certificate is not checked.
//   VERIFY_CA        REQUIRED, and the server's certificate chain must verify against `ca`
//                    (or the system's trust store when `ca` is empty).
//   VERIFY_IDENTITY  VERIFY_CA, and the certificate must name the host connected to
//                    (subjectAltName DNS or IP, or the common name).
// Files are PEM. Nothing is read here: the clients read the files at connect time and name
// a missing or bad file in their error.
//
// Thread-safety: plain values.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace mysql {

enum class ssl_mode { disabled, preferred, required, verify_ca, verify_identity };

/// The mode's name as the mysql client writes it ("VERIFY_CA").
constexpr std::string_view to_string(ssl_mode m) noexcept {
    switch (m) {
        case ssl_mode::disabled: return "DISABLED";
        case ssl_mode::preferred: return "PREFERRED";
        case ssl_mode::required: return "REQUIRED";
        case ssl_mode::verify_ca: return "VERIFY_CA";
        case ssl_mode::verify_identity: return "VERIFY_IDENTITY";
    }
    return "?";
}

/// Parses a mode name, case-insensitively ("required", "VERIFY_IDENTITY"); nullopt if unknown.
inline std::optional<ssl_mode> parse_ssl_mode(std::string_view s) noexcept {
    constexpr std::array all{ssl_mode::disabled, ssl_mode::preferred, ssl_mode::required, ssl_mode::verify_ca,
                             ssl_mode::verify_identity};
    for (ssl_mode m : all) {
        const std::string_view n = to_string(m);
        if (n.size() != s.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < n.size() && same; ++i) {
            char c = s[i];
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            same = c == n[i];
        }
        if (same) return m;
    }
    return std::nullopt;
}

/// The names accepted by parse_ssl_mode, for help texts and error messages.
inline constexpr std::string_view ssl_mode_names = "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY";

struct tls_options {
    ssl_mode mode = ssl_mode::preferred;
    std::string ca;      ///< CA certificates (PEM file) for VERIFY_CA / VERIFY_IDENTITY; empty: the system's
    std::string cert;    ///< client certificate (PEM file), for users created REQUIRE X509 / SUBJECT; optional
    std::string key;     ///< the client certificate's private key (PEM file); with `cert`
    std::string cipher;  ///< OpenSSL cipher list for TLS 1.2 ("ECDHE-RSA-AES256-GCM-SHA384:…"); empty: OpenSSL's default
    /// caching_sha2_password / sha256_password without TLS: ask the server for its RSA public key
    /// (open to a man in the middle: prefer TLS or `server_public_key`).
    bool get_server_public_key = false;
    /// caching_sha2_password / sha256_password without TLS: the server's RSA public key (PEM file),
    /// pinned; wins over get_server_public_key.
    std::string server_public_key;
};

}  // namespace mysql
ROWCAST_NAMESPACE_END
