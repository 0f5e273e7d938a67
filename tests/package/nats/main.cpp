// Package test consumer of rowcast::nats: the producer and consumer templates
// instantiate with the binary codec, and cnats links (a connection to a port where
// no server listens fails with a transient rowcast error, not a crash).
#include <rowcast/codec/binary.hpp>
#include <rowcast/nats/consumer.hpp>
#include <rowcast/nats/producer.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/pipeline/source.hpp>

#include <cstdio>

static_assert(rowcast::transactional_sink<rowcast::nats::producer<rowcast::binary_codec>>);
static_assert(rowcast::event_source<rowcast::nats::consumer<rowcast::binary_codec>>);

int main() {
    rowcast::nats::connection_options o;
    o.servers = {"nats://127.0.0.1:1"};
    o.connect_timeout = std::chrono::milliseconds(200);
    auto c = rowcast::nats::connection::connect(o);
    if (c || !rowcast::is_transient(c.error_value())) {
        std::puts("expected a transient connection error");
        return 1;
    }
    std::printf("ok: %s\n", c.error_value().message.c_str());
    return 0;
}
