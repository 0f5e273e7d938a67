// The rowcast-dns service config on its own (no named): rowcast/dns/config_yaml.hpp (YAML
// loading, an error naming the field and the file for every invalid field) and
// rowcast/dns/config.hpp (the key, check_service_config, the key-reload policy).
#include "support/temp_dir.hpp"

#include <rowcast/dns/config.hpp>
#include <rowcast/dns/config_yaml.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

using namespace rowcast;

namespace {

const char* const secret_a = "c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBvbmUgbmFtZWQga25vd3M=";
const char* const secret_b = "YW5vdGhlciBzZWNyZXQsIHRoZSBvbmUgbmFtZWQga25vd3M=";

void write_key(const std::filesystem::path& p, const char* secret, const char* name = "rowcast-key") {
    std::ofstream(p) << "key \"" << name << "\" {\n\talgorithm hmac-sha256;\n\tsecret \"" << secret << "\";\n};\n";
}

std::string good_yaml(const std::filesystem::path& key, const std::filesystem::path& spool) {
    return "server: 192.0.2.53\n"
           "port: 5353\n"
           "key_file: " + key.string() + "\n"
           "key_name: rowcast-key\n"
           "timeout_ms: 750\n"
           "attempts: 4\n"
           "ttl: 60\n"
           "forward_zones: [example.test]\n"
           "reverse_zones: 2.0.192.in-addr.arpa\n"
           "tables:\n"
           "  - {schema: inventory, table: hosts, host_column: name, address_column: addr, mac_column: mac}\n"
           "spool:\n"
           "  directory: " + spool.string() + "\n"
           "  codec: json\n"
           "  max_batch: 20\n"
           "  retry_max_ms: 900\n"
           "  batch_delay_ms: 0\n";
}

// Replaces the first `from` in `s` with `to`.
std::string with(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

}  // namespace

TEST(DnsConfig, LoadsEveryFieldOfAValidFile) {
    test::temp_dir d("rowcast-dns-config");
    write_key(d.path() / "dns.key", secret_a);
    const auto file = d.path() / "dns.yaml";
    std::ofstream(file) << good_yaml(d.path() / "dns.key", d.path() / "spool");
    auto c = dns::load_service_config(file.string());
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_EQ(c->file, file.string());
    EXPECT_EQ(c->client.server, "192.0.2.53");
    EXPECT_EQ(c->client.port, 5353);
    EXPECT_EQ(c->client.timeout, std::chrono::milliseconds(750));
    EXPECT_EQ(c->client.attempts, 4u);
    EXPECT_EQ(c->sink.ttl, 60u);
    EXPECT_EQ(c->sink.forward_zones, std::vector<std::string>{"example.test"});
    EXPECT_EQ(c->sink.reverse_zones, std::vector<std::string>{"2.0.192.in-addr.arpa"});
    ASSERT_EQ(c->sink.tables.size(), 1u);
    EXPECT_EQ(c->sink.tables[0].schema, "inventory");
    EXPECT_EQ(c->sink.tables[0].table, "hosts");
    EXPECT_EQ(c->sink.tables[0].host_column, "name");
    EXPECT_EQ(c->sink.tables[0].address_column, "addr");
    EXPECT_EQ(c->sink.tables[0].mac_column, "mac");
    EXPECT_EQ(c->key_file, (d.path() / "dns.key").string());
    EXPECT_EQ(c->key_name, "rowcast-key");
    EXPECT_EQ(c->spool, d.path() / "spool");
    EXPECT_EQ(c->quarantine, d.path() / "spool" / "quarantine");  // the default
    EXPECT_EQ(c->codec, "json");
    EXPECT_EQ(c->max_batch, 20u);
    EXPECT_EQ(c->retry_max, std::chrono::milliseconds(900));
    EXPECT_EQ(c->batch_delay, std::chrono::milliseconds(0));
    EXPECT_FALSE(c->client.key);  // read by check_service_config
    ASSERT_TRUE(dns::check_service_config(*c));
    ASSERT_TRUE(c->client.key);
    EXPECT_EQ(c->client.key->name, "rowcast-key");

    // The smallest file: defaults for everything else.
    auto m = dns::parse_service_config("key_file: k\ntables: [{table: hosts}]\nspool: {directory: /s}\n", "min.yaml");
    ASSERT_TRUE(m) << m.error_value().message;
    EXPECT_EQ(m->client.server, "127.0.0.1");
    EXPECT_EQ(m->client.port, 53);
    EXPECT_EQ(m->codec, "binary");
    EXPECT_EQ(m->max_batch, 500u);
    EXPECT_EQ(m->retry_max, std::chrono::milliseconds(5000));
    EXPECT_EQ(m->batch_delay, std::chrono::milliseconds(5));
    EXPECT_EQ(m->sink.tables[0].host_column, "hostname");
    EXPECT_EQ(m->sink.tables[0].address_column, "ip");
    EXPECT_EQ(m->quarantine, std::filesystem::path("/s/quarantine"));
}

TEST(DnsConfig, EveryInvalidFieldNamesTheFieldAndTheFile) {
    const std::string base = good_yaml("/k/dns.key", "/var/spool/rowcast");
    struct bad_case {
        std::string text, message;  // message after "[rowcast.dns.bad_config] f.yaml: "
    };
    const std::vector<bad_case> cases = {
        {"server: [1, 2\n", "YAML: "},
        {"- a\n- b\n", "the config at line 1: must be a mapping"},
        {base + "colour: blue\n", "colour at line 18: unknown key (accepted: server, port, key_file, key_name, timeout_ms, attempts, ttl, forward_zones, reverse_zones, tables, spool)"},
        {base + "port: 70000\n", "port at line 18: given twice"},
        {with(base, "server: 192.0.2.53", "server: ns.example"), "server at line 1: must be an IPv4 or IPv6 address, not 'ns.example'"},
        {with(base, "server: 192.0.2.53", "server: [a]"), "server at line 1: must be a single value, not a list"},
        {with(base, "port: 5353", "port: 0"), "port at line 2: 0 is out of range (1-65535)"},
        {with(base, "port: 5353", "port: http"), "port at line 2: 'http' is not a whole number"},
        {with(base, "key_file: /k/dns.key\n", ""), "key_file at line 1: is required"},
        {with(base, "key_name: rowcast-key", "key_name: {a: b}"), "key_name at line 4: must be a single value, not a mapping"},
        {with(base, "timeout_ms: 750", "timeout_ms: 0"), "timeout_ms at line 5: 0 is out of range (1-600000)"},
        {with(base, "attempts: 4", "attempts: 101"), "attempts at line 6: 101 is out of range (1-100)"},
        {with(base, "ttl: 60", "ttl: -1"), "ttl at line 7: -1 is out of range (0-2147483647)"},
        {with(base, "forward_zones: [example.test]", "forward_zones: {a: b}"), "forward_zones at line 8: must be a list"},
        {with(base, "reverse_zones: 2.0.192.in-addr.arpa", "reverse_zones: [[x]]"), "reverse_zones[0] at line 9: must be a single value"},
        {with(base, "tables:\n  - {schema: inventory, table: hosts, host_column: name, address_column: addr, mac_column: mac}\n",
              "tables: []\n"),
         "tables at line 10: must be a non-empty list"},
        {with(base, "schema: inventory, table: hosts", "schema: inventory"), "tables[0].table at line 11: is required"},
        {with(base, "mac_column: mac}", "mac_column: mac, colour: red}"), "tables[0].colour at line 11: unknown key (accepted: schema, table, host_column, address_column, mac_column)"},
        {with(base, "host_column: name", "host_column: [a]"), "tables[0].host_column at line 11: must be a single value, not a list"},
        {with(base, "spool:\n  directory: /var/spool/rowcast\n  codec: json\n  max_batch: 20\n  retry_max_ms: 900\n  batch_delay_ms: 0\n", ""),
         "spool at line 1: is required (a mapping with a 'directory')"},
        {with(base, "  directory: /var/spool/rowcast\n", ""), "spool.directory at line 13: is required"},
        {with(base, "  codec: json", "  codec: xml"), "spool.codec at line 14: unknown codec 'xml' (accepted: json, yaml, binary)"},
        {with(base, "  codec: json", "  colour: red"), "spool.colour at line 14: unknown key (accepted: directory, codec, quarantine_directory, max_batch, retry_max_ms, batch_delay_ms)"},
        {with(base, "max_batch: 20", "max_batch: 0"), "spool.max_batch at line 15: 0 is out of range (1-100000)"},
        {with(base, "retry_max_ms: 900", "retry_max_ms: 0"), "spool.retry_max_ms at line 16: 0 is out of range (1-86400000)"},
        {with(base, "batch_delay_ms: 0", "batch_delay_ms: 10001"), "spool.batch_delay_ms at line 17: 10001 is out of range (0-10000)"},
        {with(base, "batch_delay_ms: 0", "batch_delay_ms: soon"), "spool.batch_delay_ms at line 17: 'soon' is not a whole number"},
    };
    for (const auto& c : cases) {
        auto r = dns::parse_service_config(c.text, "f.yaml");
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error_value().code, dns::make_error_code(dns::errc::bad_config));
        const std::string prefix = "[rowcast.dns.bad_config] f.yaml: ";
        if (c.message == "YAML: ")
            EXPECT_EQ(r.error_value().message.substr(0, prefix.size() + c.message.size()), prefix + c.message) << c.text;
        else
            EXPECT_EQ(r.error_value().message, prefix + c.message) << c.text;
    }
    auto missing = dns::load_service_config("/nonexistent/dns.yaml");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error_value().message, "[rowcast.dns.bad_config] /nonexistent/dns.yaml: cannot be read");
}

// A key that is a sequence or a mapping (YAML's "? [a, b]" complex keys), at every level: a
// clear config error, never an exception out of the loader.
TEST(DnsConfig, ComplexKeysAreAConfigError) {
    const std::string base = good_yaml("/k/dns.key", "/var/spool/rowcast");
    const std::vector<std::string> texts = {
        base + "? [a, b]\n: 1\n",
        "? [a, b]\n: 1\n" + base,
        base + "? {a: b}\n: 1\n",
        "? {a: b}\n: 1\n" + base,
        "? [a, b]\n",
        with(base, "  codec: json", "  ? [x, y]\n  : json"),
        with(base, "  codec: json", "  ? {x: y}\n  : json"),
        with(base, "mac_column: mac}", "mac_column: mac, ? [c, d] : e}"),
    };
    for (const auto& t : texts) {
        result<dns::service_config> r = dns::make_error(dns::errc::bad_config, "", "not run");
        EXPECT_NO_THROW(r = dns::parse_service_config(t, "f.yaml")) << t;
        ASSERT_FALSE(r) << t;
        EXPECT_EQ(r.error_value().code, dns::make_error_code(dns::errc::bad_config));
        const auto& m = r.error_value().message;
        EXPECT_TRUE(m.find(" at line ") != std::string::npos &&
                    (m.find(": a key is a list, not a name") != std::string::npos ||
                     m.find(": a key is a mapping, not a name") != std::string::npos))
            << t << "\n" << m;
    }
}

TEST(DnsConfig, CheckNamesTheConfigFileForKeyAndMappingErrors) {
    test::temp_dir d("rowcast-dns-config");
    auto c = dns::parse_service_config(good_yaml(d.path() / "none.key", "/s"), "cfg.yaml");
    ASSERT_TRUE(c);
    auto r = dns::check_service_config(*c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message.rfind("[rowcast.dns.key_file] cfg.yaml: " + (d.path() / "none.key").string(), 0), 0u)
        << r.error_value().message;
    write_key(d.path() / "dns.key", secret_a);
    c->key_file = (d.path() / "dns.key").string();
    c->key_name = "other";
    r = dns::check_service_config(*c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error_value().message.find("no key named 'other'"), std::string::npos) << r.error_value().message;
    c->key_name.clear();  // the only key in the file
    c->sink.forward_zones = {"bad zone"};
    r = dns::check_service_config(*c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message.rfind("[rowcast.dns.", 0), 0u);
    EXPECT_NE(r.error_value().message.find("cfg.yaml: "), std::string::npos) << r.error_value().message;
    EXPECT_NE(r.error_value().message.find("forward zone"), std::string::npos) << r.error_value().message;
}

TEST(DnsConfig, KeyIsReloadedAfterAuthenticationFailuresOnly) {
    test::temp_dir d("rowcast-dns-config");
    const auto key = d.path() / "dns.key";
    write_key(key, secret_a);
    dns::service_config c;
    c.key_file = key.string();
    auto first = dns::load_key(c);
    ASSERT_TRUE(first) << first.error_value().message;
    dns::client_options co;
    co.key = *first;
    dns::client cl(co);

    EXPECT_TRUE(dns::should_reload_key(dns::make_error(dns::errc::notauth_badsig, "u", "x")));
    EXPECT_TRUE(dns::should_reload_key(dns::make_error(dns::errc::notauth_badkey, "u", "x")));
    EXPECT_TRUE(dns::should_reload_key(dns::make_error(dns::errc::refused, "u", "x")));
    for (auto e : {dns::errc::timeout, dns::errc::notauth_badtime, dns::errc::servfail, dns::errc::invalid_name})
        EXPECT_FALSE(dns::should_reload_key(dns::make_error(e, "u", "x"))) << dns::to_string(e);

    write_key(key, secret_b);  // the key changed on both ends
    auto r = dns::reload_key(dns::make_error(dns::errc::timeout, "u", "x"), c, cl);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);  // not an authentication failure: the old key stays
    EXPECT_EQ(cl.options().key->secret, first->secret);
    r = dns::reload_key(dns::make_error(dns::errc::notauth_badsig, "u", "x"), c, cl);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(*r);
    ASSERT_TRUE(cl.options().key);
    EXPECT_NE(cl.options().key->secret, first->secret);
    const auto second = cl.options().key->secret;
    std::filesystem::remove(key);  // unreadable: an error, and the key in use stays
    r = dns::reload_key(dns::make_error(dns::errc::notauth_badkey, "u", "x"), c, cl);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, dns::make_error_code(dns::errc::key_file));
    EXPECT_EQ(cl.options().key->secret, second);
}
