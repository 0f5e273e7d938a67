// Stream sink (transport/stream_sink.hpp): framing per codec read back by the codec,
// the flush policies, write errors (EPIPE, ENOSPC) as transient io_errors that take
// nothing, short writes on a full pipe, and spool -> stream_sink through rowcast::run.
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/transport/stream_sink.hpp>

#include "support/decode_all.hpp"
#include "support/random_event.hpp"
#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

using namespace rowcast;
using rowcast::test::decode_all;

static_assert(event_sink<stream_sink<json_codec>>);
static_assert(event_sink<stream_sink<yaml_codec>>);
static_assert(event_sink<stream_sink<binary_codec>>);

namespace {

struct pipe_pair {
    int r = -1, w = -1;
    pipe_pair() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        r = fds[0];
        w = fds[1];
    }
    ~pipe_pair() {
        close_read();
        close_write();
    }
    void close_read() {
        if (r >= 0) ::close(r);
        r = -1;
    }
    void close_write() {
        if (w >= 0) ::close(w);
        w = -1;
    }
    // Everything readable now (the read end made non-blocking).
    std::string drain() const {
        ::fcntl(r, F_SETFL, ::fcntl(r, F_GETFL) | O_NONBLOCK);
        std::string out;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(r, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
};

struct ignore_sigpipe {
    void (*old)(int) = std::signal(SIGPIPE, SIG_IGN);
    ~ignore_sigpipe() { std::signal(SIGPIPE, old); }
};

std::vector<event> sample_stream(std::size_t n, std::uint64_t seed = 7) {
    test::event_generator gen(seed);
    std::vector<event> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(gen.next());
    return v;
}

template <class Codec>
void round_trip(std::size_t single, std::size_t batch) {
    pipe_pair p;
    stream_sink<Codec> sink(p.w);
    const auto events = sample_stream(single + batch);
    for (std::size_t i = 0; i < single; ++i) ASSERT_TRUE(sink.write(events[i]));
    ASSERT_TRUE(sink.write(std::span<const event>(events).subspan(single)));
    ASSERT_TRUE(sink.flush());
    const std::string bytes = p.drain();
    EXPECT_EQ(decode_all<Codec>(bytes), events);
}

}  // namespace

TEST(StreamSink, JsonIsJsonLines) {
    pipe_pair p;
    stream_sink sink(p.w, json_codec{});
    const event a = test::small_insert(), b = test::hosts_update();
    ASSERT_TRUE(sink.write(a));
    ASSERT_TRUE(sink.write(b));
    const std::string out = p.drain();
    json_codec c;
    EXPECT_EQ(out, encode(c, a) + "\n" + encode(c, b) + "\n");
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
}

TEST(StreamSink, EveryCodecReadsBackWhatItWrote) {
    round_trip<json_codec>(20, 30);
    round_trip<yaml_codec>(20, 30);
    round_trip<binary_codec>(20, 30);
}

TEST(StreamSink, DebeziumEnvelopeAsGiven) {
    pipe_pair p;
    stream_sink sink(p.w, json_codec({.envelope = json_envelope::debezium}));
    ASSERT_TRUE(sink.write(test::hosts_update()));
    json_codec dbz({.envelope = json_envelope::debezium});
    EXPECT_EQ(p.drain(), encode(dbz, test::hosts_update()) + "\n");
}

// Keyed lines for kcat (-K '\t' -Z): "<key>\t<message>", and after a Debezium delete its
// tombstone "<key>\t" (an empty value, which kcat -Z sends as NULL).
TEST(StreamSink, KeyedLinesWithTombstoneAfterDelete) {
    event ins = test::small_insert();
    event del = ins;
    del.kind = event_kind::delete_;
    del.before = del.after;
    del.after.clear();
    json_codec dbz({.envelope = json_envelope::debezium});
    std::string ki, kd;
    dbz.encode_key(ins, ki);
    dbz.encode_key(del, kd);
    EXPECT_EQ(ki, "{\"id\":7}");
    stream_sink_options o;
    o.key_separator = "\t";
    {
        pipe_pair p;
        stream_sink sink(p.w, json_codec({.envelope = json_envelope::debezium}), o);
        ASSERT_TRUE(sink.write(ins));
        ASSERT_TRUE(sink.write(del));
        EXPECT_EQ(p.drain(), ki + "\t" + encode(dbz, ins) + "\n" + kd + "\t" + encode(dbz, del) + "\n" + kd + "\t\n");
    }
    {   // tombstones.on.delete=false: none
        json_options jo{.envelope = json_envelope::debezium};
        jo.debezium.tombstones_on_delete = false;
        pipe_pair p;
        stream_sink sink(p.w, json_codec(jo), o);
        ASSERT_TRUE(sink.write(del));
        EXPECT_EQ(p.drain(), kd + "\t" + encode(dbz, del) + "\n");
    }
    {   // other envelopes have no tombstones; unkeyed output has none either
        pipe_pair p;
        stream_sink keyed(p.w, json_codec{}, o);
        ASSERT_TRUE(keyed.write(del));
        json_codec plain_codec;
        EXPECT_EQ(p.drain(), kd + "\t" + encode(plain_codec, del) + "\n");
    }
    {
        pipe_pair p;
        stream_sink plain(p.w, json_codec({.envelope = json_envelope::debezium}));
        ASSERT_TRUE(plain.write(del));
        EXPECT_EQ(p.drain(), encode(dbz, del) + "\n");
    }
    {   // a codec without keys cannot write keyed lines: refused, nothing written
        pipe_pair p;
        stream_sink sink(p.w, yaml_codec{}, o);
        auto r = sink.write(del);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error_value().code, make_error_code(errc::invalid_value));
        EXPECT_NE(r.error_value().message.find("key_separator needs a codec with message keys"), std::string::npos);
        EXPECT_EQ(p.drain(), "");
    }
}

TEST(StreamSink, FilePointerConstructorNamesStdout) {
    stream_sink sink(stdout, json_codec{});
    EXPECT_EQ(sink.native_handle(), STDOUT_FILENO);
    EXPECT_EQ(sink.name(), "stdout");
    stream_sink other(5, binary_codec{});
    EXPECT_EQ(other.name(), "fd 5");
    stream_sink named(5, binary_codec{}, {.name = "the pipe"});
    EXPECT_EQ(named.name(), "the pipe");
}

TEST(StreamSink, WhenFullWritesOnlyAtTheLimitOrFlush) {
    pipe_pair p;
    stream_sink sink(p.w, json_codec{}, {.flush = stream_flush::when_full, .buffer_size = 1 << 20});
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(sink.write(test::small_insert()));
    EXPECT_EQ(p.drain(), "");
    EXPECT_GT(sink.pending(), 0u);
    ASSERT_TRUE(sink.flush());
    EXPECT_EQ(sink.pending(), 0u);
    EXPECT_EQ(decode_all<json_codec>(p.drain()).size(), 10u);

    stream_sink small(p.w, json_codec{}, {.flush = stream_flush::when_full, .buffer_size = 1});
    ASSERT_TRUE(small.write(test::small_insert()));
    EXPECT_EQ(decode_all<json_codec>(p.drain()).size(), 1u);
}

TEST(StreamSink, GroupEndWritesAtCommitAndStandaloneDdl) {
    pipe_pair p;
    stream_sink sink(p.w, json_codec{}, {.flush = stream_flush::group_end});
    event begin, commit, ddl;
    begin.kind = event_kind::begin;
    commit.kind = event_kind::commit;
    ddl.kind = event_kind::ddl;
    ddl.statement = "CREATE TABLE t (a INT)";
    ASSERT_TRUE(sink.write(begin));
    ASSERT_TRUE(sink.write(test::small_insert()));
    EXPECT_EQ(p.drain(), "");
    ASSERT_TRUE(sink.write(commit));
    EXPECT_EQ(decode_all<json_codec>(p.drain()).size(), 3u);
    ASSERT_TRUE(sink.write(ddl));
    EXPECT_EQ(decode_all<json_codec>(p.drain()).size(), 1u);
    const std::vector<event> batch = {begin, test::small_insert()};
    ASSERT_TRUE(sink.write(batch));
    EXPECT_EQ(p.drain(), "");
    ASSERT_TRUE(sink.write(std::vector<event>{commit}));
    EXPECT_EQ(decode_all<json_codec>(p.drain()).size(), 3u);
}

TEST(StreamSink, BrokenPipeIsATransientErrorNamingTheDescriptorAndTakesNothing) {
    ignore_sigpipe guard;
    pipe_pair p;
    p.close_read();
    stream_sink sink(p.w, json_codec{});
    auto r = sink.write(test::small_insert());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, make_error_code(errc::io_error));
    EXPECT_TRUE(is_transient(r.error_value()));
    EXPECT_EQ(r.error_value().message,
              "[rowcast.stream.io_error] fd " + std::to_string(p.w) + ": write failed: " + std::strerror(EPIPE));
    EXPECT_EQ(sink.pending(), 0u);  // not taken: the caller keeps the event
    const std::vector<event> batch(3, test::small_insert());
    auto rb = sink.write(batch);
    ASSERT_FALSE(rb);
    EXPECT_EQ(sink.pending(), 0u);
    EXPECT_TRUE(sink.flush());  // nothing pending
}

TEST(StreamSink, DiskFullIsATransientError) {
    const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    {
        stream_sink sink(fd, binary_codec{}, {.name = "/dev/full", .flush = stream_flush::when_full});
        ASSERT_TRUE(sink.write(test::hosts_update()));  // buffered
        auto r = sink.flush();
        ASSERT_FALSE(r);
        EXPECT_TRUE(is_transient(r.error_value()));
        EXPECT_EQ(r.error_value().message,
                  std::string("[rowcast.stream.io_error] /dev/full: write failed: ") + std::strerror(ENOSPC));
        EXPECT_GT(sink.pending(), 0u);  // kept for the next flush
    }
    ::close(fd);
}

TEST(StreamSink, ShortWriteOnAFullPipeKeepsTheRestPendingAndLosesNothing) {
    pipe_pair p;
    ::fcntl(p.w, F_SETPIPE_SZ, 4096);
    const int cap = ::fcntl(p.w, F_GETPIPE_SZ);
    ::fcntl(p.w, F_SETFL, ::fcntl(p.w, F_GETFL) | O_NONBLOCK);
    stream_sink sink(p.w, json_codec{});
    // A batch larger than the pipe: part of it goes out, the rest stays pending, the batch is taken.
    std::vector<event> batch;
    std::string expected;
    json_codec c;
    while (expected.size() < static_cast<std::size_t>(cap) * 2) {
        batch.push_back(test::hosts_update());
        batch.back().sequence = batch.size();
        expected += encode(c, batch.back()) + "\n";
    }
    ASSERT_TRUE(sink.write(batch));
    EXPECT_GT(sink.pending(), 0u);
    // The pipe is full: a new event cannot go out at all, so it is refused (not taken).
    event extra = test::small_insert();
    auto r = sink.write(extra);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is_transient(r.error_value()));
    EXPECT_NE(r.error_value().message.find(std::strerror(EAGAIN)), std::string::npos) << r.error_value().message;
    // The reader catches up; flush and the retried event complete the stream, in order, once each.
    std::string got;
    for (int i = 0; i < 1000 && sink.pending() > 0; ++i) {
        got += p.drain();
        (void)sink.flush();
    }
    ASSERT_EQ(sink.pending(), 0u);
    ASSERT_TRUE(sink.write(extra));
    got += p.drain();
    expected += encode(c, extra) + "\n";
    EXPECT_EQ(got, expected);
}

TEST(StreamSink, SpoolToStreamIsOneRunCall) {
    test::temp_dir dir;
    auto writer = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    const auto events = sample_stream(40, 11);
    for (const auto& e : events) ASSERT_TRUE(writer.write(e));
    auto reader = spool_reader<binary_codec>::open({.directory = dir.path()}).value();
    test::temp_dir out_dir;
    const int fd = ::open((out_dir.path() / "out.jsonl").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    stream_sink out(fd, json_codec{});
    // Stops the run once every event went through (on the run's own thread).
    std::stop_source stop;
    std::size_t seen = 0;
    auto counted = callback_sink([&](std::span<const event> batch) -> result<void> {
        if (auto w = out.write(batch); !w) return w;
        if ((seen += batch.size()) >= events.size()) stop.request_stop();
        return {};
    });
    std::jthread guard([&, token = stop.get_token()](std::stop_token self) {
        for (int i = 0; i < 2000 && !token.stop_requested() && !self.stop_requested(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        stop.request_stop();  // a liveness guard, not a timed assertion
    });
    auto r = rowcast::run(reader, counted, stop.get_token());
    guard.request_stop();
    guard.join();
    ASSERT_TRUE(out.flush());
    ::close(fd);
    ASSERT_TRUE(r) << r.error_value().message;
    std::ifstream in(out_dir.path() / "out.jsonl");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto got = decode_all<json_codec>(text);
    ASSERT_EQ(got.size(), events.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        got[i].source.file = events[i].source.file;  // the reader fills in the spool file's name
        EXPECT_EQ(got[i], events[i]) << i;
    }
}
