// Journal transport: journal_writer + journal_source on real files (rowcast/journal/).
#include <rowcast/codec/binary.hpp>
#ifdef ROWCAST_TEST_TEXT_CODECS
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#endif
#include <rowcast/journal/source.hpp>
#include <rowcast/journal/writer.hpp>
#include <rowcast/pipeline/checkpointed_sink.hpp>

#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace rowcast;
using rowcast::test::temp_dir;

namespace {

static_assert(event_sink<journal_writer<binary_codec>>);
static_assert(event_source<journal_source<binary_codec>>);

event numbered(std::uint64_t seq) {
    event e = test::small_insert();
    e.sequence = seq;
    return e;
}

struct collect {
    std::vector<event> got;
    result<void> write(const event& e) {
        got.push_back(e);
        return {};
    }
    result<void> write(std::span<const event> b) {
        got.insert(got.end(), b.begin(), b.end());
        return {};
    }
    result<void> flush() { return {}; }
    std::vector<std::uint64_t> sequences() const {
        std::vector<std::uint64_t> s;
        for (const auto& e : got) s.push_back(e.sequence);
        return s;
    }
};

journal_source_options quiet(const std::filesystem::path& dir, std::vector<std::string>* logs = nullptr) {
    journal_source_options o;
    o.directory = dir;
    o.tail_poll = std::chrono::milliseconds(5);
    o.log = [logs](log_level, std::string_view, std::string_view m) {
        if (logs) logs->emplace_back(m);
    };
    return o;
}

// Steps the source until `done()` says so or ~5 s of idle steps passed.
template <class Source, class Sink, class Done>
void drive(Source& src, Sink& sink, Done&& done) {
    for (int idle = 0; !done() && idle < 1000;) {
        auto n = src.process(sink);
        ASSERT_TRUE(n) << n.error_value().message;
        if (*n == 0) {
            pollfd p{src.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 5);
            ++idle;
        }
    }
}

std::vector<std::string> segments(const std::filesystem::path& dir) {
    std::vector<std::string> s;
    for (const auto& f : std::filesystem::directory_iterator(dir))
        if (f.path().extension() == ".rcj") s.push_back(f.path().filename().string());
    std::sort(s.begin(), s.end());
    return s;
}

std::vector<std::string> quarantined(const std::filesystem::path& dir) {
    std::vector<std::string> s;
    if (!std::filesystem::exists(dir / "quarantine")) return s;
    for (const auto& f : std::filesystem::directory_iterator(dir / "quarantine"))
        if (f.path().extension() != ".reason") s.push_back(f.path().filename().string());
    std::sort(s.begin(), s.end());
    return s;
}

void append_bytes(const std::filesystem::path& file, std::string_view bytes) {
    std::ofstream f(file, std::ios::binary | std::ios::app);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The binary codec under another name: a reader that expects json segments.
struct named_json : binary_codec {
    static constexpr std::string_view name = "json";
};

template <class Codec>
void round_trip() {
    temp_dir dir;
    const std::vector<event> in = {test::hosts_update(), test::small_insert(), test::wide_insert()};
    {
        auto w = journal_writer<Codec>::open({dir.path(), journal_durability::file_and_directory}).value();
        ASSERT_TRUE(w.write(std::span<const event>(in)));
    }
    auto src = journal_source<Codec>::open(quiet(dir.path())).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= in.size(); });
    EXPECT_EQ(out.got, in);
    EXPECT_TRUE(quarantined(dir.path()).empty());
}

}  // namespace

TEST(Journal, RoundTripsEveryCodec) {
    round_trip<binary_codec>();
#ifdef ROWCAST_TEST_TEXT_CODECS
    round_trip<json_codec>();
    round_trip<yaml_codec>();
#endif
}

TEST(Journal, SegmentFormatIsAsDocumented) {
    temp_dir dir;
    {
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
        ASSERT_TRUE(w.write_encoded("abc"));
    }
    ASSERT_EQ(segments(dir.path()), std::vector<std::string>{"0000000000000001.rcj"});
    const std::string bytes = test::slurp(dir.path() / "0000000000000001.rcj");
    ASSERT_EQ(bytes.size(), 16u + 8u + 3u);
    EXPECT_EQ(bytes.substr(0, 8), "RCJOURNL");
    EXPECT_EQ(bytes[8], 1);   // version 1, little-endian
    EXPECT_EQ(bytes[10], 3);  // codec id 3: binary
    EXPECT_EQ(bytes.substr(16, 4), std::string("\x03\0\0\0", 4));
    EXPECT_EQ(detail::journal::load_le32(bytes.data() + 20), detail::crc32("abc", 3));
    EXPECT_EQ(bytes.substr(24), "abc");
    EXPECT_EQ(std::filesystem::status(dir.path() / "0000000000000001.rcj").permissions() & std::filesystem::perms::all,
              std::filesystem::perms(0640));
}

TEST(Journal, FourThreadsEachEventOnceInAppendOrder) {
    temp_dir dir;
    constexpr std::uint64_t per_thread = 1500;
    auto w = journal_writer<binary_codec>::open({.directory = dir.path(), .durability = journal_durability::none,
                                                 .segment_size = 64 << 10})
                 .value();
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < 4; ++t)
        threads.emplace_back([&w, t] {
            for (std::uint64_t i = 0; i < per_thread; ++i) ASSERT_TRUE(w.write(numbered(t * 1000000 + i)));
        });
    for (auto& t : threads) t.join();
    EXPECT_GT(w.segment(), 2u);  // rotated while the threads appended
    auto src = journal_source<binary_codec>::open(quiet(dir.path())).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= 4 * per_thread; });
    ASSERT_EQ(out.got.size(), 4 * per_thread);
    std::uint64_t next[4] = {0, 0, 0, 0};
    for (std::uint64_t s : out.sequences()) {  // each thread's events exactly once, in its order
        const auto t = s / 1000000;
        ASSERT_LT(t, 4u);
        ASSERT_EQ(s % 1000000, next[t]);
        ++next[t];
    }
}

TEST(Journal, RotatesAndRetiresDeliveredSegments) {
    temp_dir dir;
    auto w = journal_writer<binary_codec>::open({.directory = dir.path(), .durability = journal_durability::none,
                                                 .segment_size = 2048})
                 .value();
    for (std::uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(w.write(numbered(i)));
    const auto before = segments(dir.path());
    ASSERT_GT(before.size(), 3u);
    auto o = quiet(dir.path());
    o.after = journal_after::move_to_done;
    auto src = journal_source<binary_codec>::open(o).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= 100; });
    ASSERT_EQ(out.got.size(), 100u);
    for (std::uint64_t i = 0; i < 100; ++i) EXPECT_EQ(out.got[i].sequence, i);
    // Every segment but the one still written is in done/; nothing is left behind.
    EXPECT_EQ(segments(dir.path()), std::vector<std::string>{before.back()});
    EXPECT_EQ(segments(dir.path() / "done").size(), before.size() - 1);
    EXPECT_EQ(src.stats().retired, before.size() - 1);
}

TEST(Journal, ResumesFromCheckpointWithoutLossOrDuplicate) {
    temp_dir dir, state;
    {
        auto w = journal_writer<binary_codec>::open({.directory = dir.path(), .durability = journal_durability::none,
                                                     .segment_size = 1500})
                     .value();
        for (std::uint64_t i = 0; i < 60; ++i) ASSERT_TRUE(w.write(numbered(i)));
    }
    collect out;
    const auto ckpt = state.path() / "journal.state";
    for (int round = 0; round < 20 && out.got.size() < 60; ++round) {  // a new source and sink each time
        auto o = quiet(dir.path());
        o.max_batch = 7;
        auto src = journal_source<binary_codec>::open(o).value();
        auto sink = checkpointed_sink<collect&>::open(out, checkpoint_file(ckpt, durability::none)).value();
        ASSERT_TRUE(src.process(sink));
    }
    ASSERT_EQ(out.got.size(), 60u);
    for (std::uint64_t i = 0; i < 60; ++i) EXPECT_EQ(out.got[i].sequence, i);
    EXPECT_TRUE(segments(dir.path()).empty());  // the writer is gone: its last segment is done too
}

TEST(Journal, SecondWriterIsRefused) {
    temp_dir dir;
    auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
    auto w2 = journal_writer<binary_codec>::open({dir.path(), journal_durability::none});
    ASSERT_FALSE(w2);
    EXPECT_EQ(w2.error_value().code, errc::unavailable);
    EXPECT_NE(w2.error_value().message.find("another process is writing this journal"), std::string::npos)
        << w2.error_value().message;
}

TEST(Journal, WriterKilledMidRecordTornTailQuarantinedNextWriterRead) {
    temp_dir dir;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the writer: 5 events, then half a record, then kill -9
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none});
        if (!w) ::_exit(2);
        for (std::uint64_t i = 0; i < 5; ++i)
            if (!w->write(numbered(i))) ::_exit(3);
        std::string rec;
        detail::journal::begin_record(rec);
        binary_codec{}.encode(numbered(99), rec);
        detail::journal::finish_record(rec);
        append_bytes(dir.path() / detail::journal::segment_name(w->segment()), std::string_view(rec).substr(0, rec.size() / 2));
        ::kill(::getpid(), SIGKILL);
        ::_exit(4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();  // lock is free again
    EXPECT_EQ(w.segment(), 2u);
    for (std::uint64_t i = 5; i < 8; ++i) ASSERT_TRUE(w.write(numbered(i)));
    std::vector<std::string> logs;
    auto src = journal_source<binary_codec>::open(quiet(dir.path(), &logs)).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= 8; });
    EXPECT_EQ(out.sequences(), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
    const auto q = quarantined(dir.path());
    ASSERT_EQ(q.size(), 1u);
    EXPECT_TRUE(q[0].starts_with("0000000000000001.rcj@")) << q[0];
    EXPECT_NE(test::slurp(dir.path() / "quarantine" / (q[0] + ".reason")).find("torn record"), std::string::npos);
    EXPECT_EQ(src.stats().quarantined, 1u);
}

TEST(Journal, PartialRecordOfLiveWriterIsWaitedFor) {
    temp_dir dir;
    auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
    const auto seg = dir.path() / detail::journal::segment_name(w.segment());
    std::string rec;
    detail::journal::begin_record(rec);
    binary_codec{}.encode(numbered(1), rec);
    detail::journal::finish_record(rec);
    append_bytes(seg, std::string_view(rec).substr(0, 5));  // what a reader may see mid-append
    auto src = journal_source<binary_codec>::open(quiet(dir.path())).value();
    collect out;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(src.process(out).value(), 0u);
    EXPECT_EQ(src.next_timeout(), std::chrono::milliseconds(5));  // polls while the record is incomplete
    EXPECT_TRUE(quarantined(dir.path()).empty());
    append_bytes(seg, std::string_view(rec).substr(5));
    drive(src, out, [&] { return out.got.size() >= 1; });
    EXPECT_EQ(out.sequences(), std::vector<std::uint64_t>{1});
}

TEST(Journal, BadChecksumAndUndecodablePayloadQuarantinedReadingGoesOn) {
    temp_dir dir;
    {
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
        for (std::uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(w.write(numbered(i)));
        ASSERT_TRUE(w.write_encoded("not a binary event"));
        ASSERT_TRUE(w.write(numbered(3)));
    }
    const auto seg = dir.path() / "0000000000000001.rcj";
    std::string bytes = test::slurp(seg);
    const std::uint32_t first = detail::journal::load_le32(bytes.data() + 16);
    bytes[16 + 8 + first + 8 + 3] ^= 0x40;  // a bit flipped in the second record's payload
    { std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes; }
    auto src = journal_source<binary_codec>::open(quiet(dir.path())).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= 3 && src.stats().quarantined >= 2; });
    EXPECT_EQ(out.sequences(), (std::vector<std::uint64_t>{0, 2, 3}));
    const auto q = quarantined(dir.path());
    ASSERT_EQ(q.size(), 2u);
    EXPECT_NE(test::slurp(dir.path() / "quarantine" / (q[0] + ".reason")).find("checksum mismatch"), std::string::npos);
}

TEST(Journal, ImpossibleLengthQuarantinesTheRestAndNextSegmentIsRead) {
    temp_dir dir;
    {
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
        ASSERT_TRUE(w.write(numbered(0)));
    }
    append_bytes(dir.path() / "0000000000000001.rcj", std::string("\xff\xff\xff\x7f garbage", 12));
    {
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
        ASSERT_TRUE(w.write(numbered(1)));
    }
    auto src = journal_source<binary_codec>::open(quiet(dir.path())).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= 2; });
    EXPECT_EQ(out.sequences(), (std::vector<std::uint64_t>{0, 1}));
    const auto q = quarantined(dir.path());
    ASSERT_EQ(q.size(), 1u);
    EXPECT_NE(test::slurp(dir.path() / "quarantine" / (q[0] + ".reason")).find("impossible record length"), std::string::npos);
}

TEST(Journal, SegmentOfAnotherCodecIsRefused) {
    temp_dir dir;
    {
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
        ASSERT_TRUE(w.write_encoded("{}"));
    }
    auto src = journal_source<named_json>::open(quiet(dir.path())).value();
    collect out;
    auto r = src.process(out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, errc::unsupported);
    EXPECT_EQ(segments(dir.path()).size(), 1u);  // kept as it is
}

TEST(Journal, FifoAndSymlinkWithSegmentNamesAreQuarantinedNeverFollowed) {
    temp_dir dir, elsewhere;
    ASSERT_EQ(::mkfifo((dir.path() / "0000000000000001.rcj").c_str(), 0600), 0);
    const auto target = elsewhere.path() / "secret";
    std::ofstream(target) << "not yours";
    std::filesystem::create_symlink(target, dir.path() / "0000000000000002.rcj");
    {
        auto w = journal_writer<binary_codec>::open({dir.path(), journal_durability::none}).value();
        EXPECT_EQ(w.segment(), 3u);  // numbered after every name there
        ASSERT_TRUE(w.write(numbered(7)));
    }
    auto src = journal_source<binary_codec>::open(quiet(dir.path())).value();
    collect out;
    drive(src, out, [&] { return out.got.size() >= 1; });  // a FIFO would block a plain open()
    EXPECT_EQ(out.sequences(), std::vector<std::uint64_t>{7});
    EXPECT_EQ(quarantined(dir.path()), (std::vector<std::string>{"0000000000000001.rcj", "0000000000000002.rcj"}));
    EXPECT_EQ(test::slurp(target), "not yours");
    EXPECT_TRUE(std::filesystem::is_symlink(dir.path() / "quarantine" / "0000000000000002.rcj"));  // moved as it is
}
