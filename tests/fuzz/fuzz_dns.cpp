// libFuzzer target for the DNS component's untrusted inputs: the reply parser
// (with TSIG verification of whatever parses) and the key-file parser.
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/dns/tsig.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rowcast::dns;
    const std::span<const std::uint8_t> in(data, size);
    if (auto m = parse_message(in)) {
        static const tsig_key key{"rowcast-key", tsig_algorithm::hmac_sha256, std::string(32, 'k')};
        (void)tsig_verify(in, *m, std::string_view("0123456789abcdef0123456789abcdef"), key, 1700000000);
        for (const auto& rr : m->answers) (void)canonical_name(rr.name);
    }
    (void)parse_key_file(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
