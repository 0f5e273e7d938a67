// Test support for connecting securely (tests/test_mysql_connect.cpp):
//
// `test_certificates` writes, with the openssl command-line tool, into a fresh directory
// readable by every user (mariadbd runs as `mysql` when the tests run as root): a CA
// (ca.pem), a server certificate signed by it for DNS name "localhost" only (server.pem,
// server-key.pem), a second unrelated CA (other-ca.pem) — EC P-256 keys, quick to make — and an
// RSA key pair for the password exchange (rsa-key.pem, rsa-pub.pem).
//
// `mysql_auth_server` is the server side of MySQL's handshake and authentication, written
// from the protocol documentation (page_protocol_connection_phase,
// page_caching_sha2_authentication_exchanges, sha256_password): it listens on 127.0.0.1 and
// serve() answers one client on a thread: handshake v10 (CLIENT_SSL when given a TLS
// certificate), the SSL request and TLS (OpenSSL, server side), then caching_sha2_password
// (fast path when `cached`, else full: the password over TLS, or RSA with the key sent on
// request 0x02), sha256_password (password over TLS, or RSA with the key sent on request
// 0x01), mysql_native_password, an optional auth switch to another plugin (also one the
// client does not know), and OK or ERR 1045. The outcome says which path ran. With `reply`
// it then answers one command with the given packets (a hostile server's result sets). MySQL is not in
// Debian: this is how the MySQL-only plugins are tested.
//
// Blocking I/O with a 10 s receive timeout per socket (a hung client ends the serve thread
// with an exception through the future, never a test that waits forever).
#pragma once

#include "process.hpp"
#include "temp_dir.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rowcast::test {

class test_certificates {
public:
    test_certificates() : dir_("rowcast-certs") {
        ::chmod(dir_.path().c_str(), 0755);
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=rowcast test CA",
                 "-keyout", file("ca-key.pem"), "-out", file("ca.pem")});
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=rowcast other CA",
                 "-keyout", file("other-ca-key.pem"), "-out", file("other-ca.pem")});
        openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost", "-keyout", file("server-key.pem"),
                 "-out", file("server.csr")});
        std::ofstream(dir_.path() / "san.ext") << "subjectAltName=DNS:localhost\n";
        openssl({"x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"),
                 "-CAcreateserial", "-days", "2", "-extfile", file("san.ext"), "-out", file("server.pem")});
        openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file("rsa-key.pem")});
        openssl({"pkey", "-in", file("rsa-key.pem"), "-pubout", "-out", file("rsa-pub.pem")});
        for (const auto& f : std::filesystem::directory_iterator(dir_.path())) ::chmod(f.path().c_str(), 0644);
    }
    std::string file(const std::string& name) const { return (dir_.path() / name).string(); }
    std::string ca() const { return file("ca.pem"); }
    std::string other_ca() const { return file("other-ca.pem"); }
    std::string server_cert() const { return file("server.pem"); }
    std::string server_key() const { return file("server-key.pem"); }
    std::string rsa_private() const { return file("rsa-key.pem"); }
    std::string rsa_public() const { return file("rsa-pub.pem"); }

private:
    void openssl(std::vector<std::string> args) const {
        args.insert(args.begin(), "/usr/bin/openssl");
        const auto log = dir_.path() / "openssl.log";
        if (run_process({.argv = args, .env = {}, .stdout_file = log, .stderr_file = {}}) != 0) {
            std::ifstream in(log);
            std::stringstream ss;
            ss << in.rdbuf();
            throw std::runtime_error("openssl " + args[1] + " failed: " + ss.str());
        }
    }
    temp_dir dir_;
};

struct auth_server_config {
    std::string plugin = "caching_sha2_password";  ///< announced in the handshake
    std::string switch_to;                         ///< non-empty: an auth switch request to this plugin
    std::string password = "secret";
    bool cached = false;                           ///< caching_sha2_password: fast path succeeds
    bool offer_tls = true;                         ///< CLIENT_SSL in the handshake
    /// After a successful login: read one command, answer it with these packet payloads
    /// (sequence ids from 1), then `raw_reply` as it is (bytes past the framing), then close.
    std::vector<std::string> reply;
    std::string raw_reply;
    /// After a successful login (and without `reply`): answer successive commands, each with its
    /// packets framed and written at once (one TLS record up to 16 KiB), then wait for the client
    /// to leave: a replica's setup queries and its binlog dump.
    std::vector<std::vector<std::string>> replies;
};

struct auth_outcome {
    bool tls = false;         ///< the client started TLS
    std::string client_plugin;///< named in the client's handshake response
    std::string path;         ///< "fast", "full-tls", "full-rsa", "key-sent+rsa", "native", "rejected", "client-left"
    bool accepted = false;    ///< OK was sent
    std::string command;      ///< with `reply`: the command the client sent (its first byte is the command)
};

class mysql_auth_server {
public:
    mysql_auth_server(const test_certificates& certs) : certs_(certs) {
        listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_.get(), 4) != 0 ||
            ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("auth server: cannot listen");
        port_ = ntohs(a.sin_port);
        ctx_.reset(SSL_CTX_new(TLS_server_method()));
        if (!ctx_ || SSL_CTX_use_certificate_chain_file(ctx_.get(), certs.server_cert().c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx_.get(), certs.server_key().c_str(), SSL_FILETYPE_PEM) != 1)
            throw std::runtime_error("auth server: cannot load the server certificate");
        std::ifstream in(certs.rsa_public());
        std::stringstream ss;
        ss << in.rdbuf();
        public_pem_ = ss.str();
    }
    std::uint16_t port() const noexcept { return port_; }

    /// Answers one client on a thread; get() the outcome after the client is done.
    std::future<auth_outcome> serve(auth_server_config c) {
        return std::async(std::launch::async, [this, c] { return session(c); });
    }

private:
    struct fd_closer {
        int fd = -1;
        explicit fd_closer(int f = -1) : fd(f) {}
        ~fd_closer() {
            if (fd >= 0) ::close(fd);
        }
        void reset(int f) {
            if (fd >= 0) ::close(fd);
            fd = f;
        }
        int get() const { return fd; }
    };
    struct peer {
        int fd;
        SSL* ssl = nullptr;
        std::uint8_t seq = 0;
        void write_all(const std::string& s) {
            std::size_t off = 0;
            while (off < s.size()) {
                const int n = ssl ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
                                  : static_cast<int>(::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL));
                if (n <= 0) throw std::runtime_error("auth server: write failed");
                off += static_cast<std::size_t>(n);
            }
        }
        bool read_all(char* p, std::size_t n) {
            std::size_t off = 0;
            while (off < n) {
                const int r = ssl ? SSL_read(ssl, p + off, static_cast<int>(n - off))
                                  : static_cast<int>(::recv(fd, p + off, n - off, 0));
                if (r <= 0) return false;
                off += static_cast<std::size_t>(r);
            }
            return true;
        }
        std::string frame(const std::string& payload) {
            std::string f;
            for (int i = 0; i < 3; ++i) f += static_cast<char>((payload.size() >> (8 * i)) & 0xFF);
            f += static_cast<char>(seq++);
            return f + payload;
        }
        void send(const std::string& payload) { write_all(frame(payload)); }
        std::optional<std::string> recv() {
            unsigned char h[4];
            if (!read_all(reinterpret_cast<char*>(h), 4)) return std::nullopt;
            const std::size_t n = h[0] | (std::size_t{h[1]} << 8) | (std::size_t{h[2]} << 16);
            seq = static_cast<std::uint8_t>(h[3] + 1);
            std::string p(n, '\0');
            if (!read_all(p.data(), n)) return std::nullopt;
            return p;
        }
    };
    static std::string sha256(const std::string& s) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
        return std::string(reinterpret_cast<const char*>(d), sizeof d);
    }
    static std::string sha1(const std::string& s) {
        unsigned char d[SHA_DIGEST_LENGTH];
        SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
        return std::string(reinterpret_cast<const char*>(d), sizeof d);
    }
    // RSA-OAEP decryption with the server key, then XOR with the nonce: the password + NUL.
    std::string rsa_decrypt(const std::string& in, const std::string& nonce) const {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(certs_.rsa_private().c_str(), "r"), &BIO_free);
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                                                                &EVP_PKEY_free);
        std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr), &EVP_PKEY_CTX_free);
        std::size_t n = 0;
        if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_decrypt(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(in.data()), in.size()) <= 0)
            return {};
        std::string out(n, '\0');
        if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                             reinterpret_cast<const unsigned char*>(in.data()), in.size()) <= 0)
            return {};
        out.resize(n);
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(out[i] ^ nonce[i % nonce.size()]);
        return out;
    }

    auth_outcome session(const auth_server_config& c) {
        fd_closer conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (conn.get() < 0) throw std::runtime_error("auth server: accept failed");
        timeval tv{10, 0};
        ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const int one = 1;  // each packet at once (no 40 ms delayed-ACK stalls between small writes)
        ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        peer p{conn.get()};
        std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, &SSL_free);
        auth_outcome out;
        std::string nonce(20, '\0');
        RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 20);
        for (auto& ch : nonce) ch = static_cast<char>((static_cast<unsigned char>(ch) % 94) + 33);  // printable, no NUL
        // Handshake v10.
        const std::uint32_t caps = 0x200 | 0x8000 | 0x80000 | 0x200000 | 1 | 4 | 0x2000 | (c.offer_tls ? 0x800u : 0u);
        std::string h;
        h += '\x0a';
        h += "8.4.0-rowcast-test";
        h += '\0';
        h.append("\x07\0\0\0", 4);
        h += nonce.substr(0, 8);
        h += '\0';
        h += static_cast<char>(caps & 0xFF);
        h += static_cast<char>((caps >> 8) & 0xFF);
        h += static_cast<char>(255);  // utf8mb4_0900_ai_ci
        h.append("\x02\0", 2);        // status
        h += static_cast<char>((caps >> 16) & 0xFF);
        h += static_cast<char>((caps >> 24) & 0xFF);
        h += static_cast<char>(21);
        h.append(10, '\0');
        h += nonce.substr(8);
        h += '\0';
        h += c.plugin;
        h += '\0';
        p.send(h);
        auto r = p.recv();
        if (!r) return out.path = "client-left", out;
        if (r->size() == 32) {  // SSL request
            if (!c.offer_tls) throw std::runtime_error("auth server: SSL request though TLS was not offered");
            ssl.reset(SSL_new(ctx_.get()));
            SSL_set_fd(ssl.get(), conn.get());
            if (SSL_accept(ssl.get()) != 1) return out.path = "tls-failed", out;
            p.ssl = ssl.get();
            out.tls = true;
            r = p.recv();
            if (!r) return out.path = "client-left", out;
        }
        // Handshake response 41: caps, max packet, charset, 23 filler, user NUL, lenenc auth data, plugin NUL.
        std::size_t at = 32;
        const std::size_t user_end = r->find('\0', at);
        at = user_end + 1;
        std::size_t alen = static_cast<unsigned char>((*r)[at++]);
        if (alen == 0xFC) {  // a 2-byte length (an RSA-encrypted password)
            alen = static_cast<unsigned char>((*r)[at]) | (std::size_t{static_cast<unsigned char>((*r)[at + 1])} << 8);
            at += 2;
        }
        std::string auth = r->substr(at, alen);
        at += alen;
        out.client_plugin = r->substr(at, r->find('\0', at) - at);
        std::string plugin = c.plugin;
        if (!c.switch_to.empty()) {
            plugin = c.switch_to;
            p.send("\xfe" + plugin + std::string(1, '\0') + nonce + std::string(1, '\0'));
            r = p.recv();
            if (!r) return out.path = "client-left", out;
            auth = *r;
        } else if (out.client_plugin != plugin) {
            throw std::runtime_error("auth server: client answered for " + out.client_plugin);
        }
        bool ok = false;
        const std::string stage2 = sha256(sha256(c.password));
        if (plugin == "mysql_native_password") {
            const std::string h1 = sha1(nonce + sha1(sha1(c.password)));
            std::string x = auth;
            for (std::size_t i = 0; i < x.size() && i < h1.size(); ++i) x[i] = static_cast<char>(x[i] ^ h1[i]);
            ok = auth.size() == 20 && sha1(x) == sha1(sha1(c.password));
            out.path = "native";
        } else if (plugin == "caching_sha2_password") {
            std::string stage1 = auth;
            const std::string mix = sha256(stage2 + nonce);
            for (std::size_t i = 0; i < stage1.size() && i < 32; ++i) stage1[i] = static_cast<char>(stage1[i] ^ mix[i]);
            if (c.cached && auth.size() == 32 && sha256(stage1) == stage2) {
                p.send("\x01\x03");
                out.path = "fast";
                ok = true;
            } else {
                p.send("\x01\x04");
                r = p.recv();
                if (!r) return out.path = "client-left", out;
                if (out.tls) {
                    ok = *r == c.password + '\0';
                    out.path = "full-tls";
                } else {
                    out.path = "full-rsa";
                    if (*r == "\x02") {
                        p.send("\x01" + public_pem_);
                        out.path = "key-sent+rsa";
                        r = p.recv();
                        if (!r) return out.path = "client-left", out;
                    }
                    ok = rsa_decrypt(*r, nonce) == c.password + '\0';
                }
            }
        } else if (plugin == "sha256_password") {
            if (out.tls) {
                ok = auth == c.password + '\0';
                out.path = "full-tls";
            } else {
                out.path = "full-rsa";
                if (auth == "\x01") {
                    p.send("\x01" + public_pem_);
                    out.path = "key-sent+rsa";
                    r = p.recv();
                    if (!r) return out.path = "client-left", out;
                    auth = *r;
                }
                ok = rsa_decrypt(auth, nonce) == c.password + '\0';
            }
        } else {
            out.path = "client-left";  // a plugin the client cannot do: it must hang up
            return out;
        }
        if (ok) {
            p.send(std::string("\x00\x00\x00\x02\x00\x00\x00", 7));
            out.accepted = true;
            if (!c.reply.empty() || !c.raw_reply.empty()) {
                r = p.recv();
                if (!r) return out;
                out.command = *r;
                for (const auto& packet : c.reply) p.send(packet);
                if (!c.raw_reply.empty()) p.write_all(c.raw_reply);
                return out;  // closes the connection
            }
            for (const auto& packets : c.replies) {
                r = p.recv();
                if (!r) return out;
                out.command = *r;
                std::string all;
                for (const auto& packet : packets) all += p.frame(packet);
                p.write_all(all);
            }
        } else {
            p.send(std::string("\xff\x1d\x04#28000Access denied for user", 32));
            out.path += "/rejected";
        }
        (void)p.recv();  // COM_QUIT or the close
        return out;
    }

    const test_certificates& certs_;
    fd_closer listen_;
    std::uint16_t port_ = 0;
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{nullptr, &SSL_CTX_free};
    std::string public_pem_;
};

}  // namespace rowcast::test
