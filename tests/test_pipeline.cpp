// Pipeline core: the sink/source concepts, run(source, sink, stop) over real
// spool directories and binlog files (retries, back-pressure, permanent errors,
// giving up), the generic transactional spool sink and its checkpoint file.
#include <rowcast/binlog/file_source.hpp>
#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/detail/crc32.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_sink.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/binlog_cut.hpp"
#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"
#include "support/watchdog.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace rowcast;
using rowcast::test::temp_dir;

namespace {

const std::string fixture = std::string(ROWCAST_BINLOG_FIXTURES) + "/mariadb/01_all_types.binlog";

// Every producer and consumer models the concepts.
static_assert(event_sink<spool_writer<binary_codec>>);
static_assert(transactional_sink<spool_sink<binary_codec>>);
static_assert(event_source<spool_reader<binary_codec>>);
static_assert(event_source<binlog::file_source>);
static_assert(event_sink<callback_sink<std::function<void(const event&)>>>);
static_assert(!transactional_sink<spool_writer<binary_codec>>);

event numbered(std::uint64_t i) {
    event e = test::hosts_update();
    e.sequence = i;
    return e;
}

std::size_t visible_files(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir))
        if (f.is_regular_file() && f.path().filename().string()[0] != '.') ++n;
    return n;
}

// A sink that records events, fails (with `code`) on chosen write numbers, and stops the run after `stop_after`.
struct recording_sink {
    std::vector<event> got;
    std::vector<std::size_t> fail_on;  // 0-based write calls that fail
    std::error_code code = make_error_code(errc::unavailable);
    std::size_t calls = 0;
    std::size_t stop_after = 0;
    std::stop_source* stop = nullptr;
    std::size_t flushes = 0;

    result<void> write(const event& e) {
        const std::size_t n = calls++;
        for (auto f : fail_on)
            if (f == n) return error{code, "[rowcast.test.unavailable] sink: refused on purpose"};
        got.push_back(e);
        if (stop && stop_after && got.size() >= stop_after) stop->request_stop();
        return {};
    }
    result<void> write(std::span<const event> b) { return write_each(*this, b); }
    result<void> flush() {
        ++flushes;
        return {};
    }
};
static_assert(event_sink<recording_sink>);

run_options fast_retries(unsigned max_attempts = 0) {
    run_options o;
    o.retry = {.initial = std::chrono::milliseconds(1), .max = std::chrono::milliseconds(5), .max_attempts = max_attempts};
    o.log = [](log_level, std::string_view, std::string_view) {};
    return o;
}

}  // namespace

// A relay spool -> sink is one run() call; transient sink failures are retried
// after the backoff and nothing is lost, duplicated out of order or skipped.
TEST(Run, SpoolToSinkRetriesTransientFailuresInOrder) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    for (std::uint64_t i = 0; i < 30; ++i) ASSERT_TRUE(w.write(numbered(i)));
    spool_reader_options ro;
    ro.directory = dir.path();
    ro.max_batch = 1;
    auto reader = spool_reader<binary_codec>::open(ro).value();
    std::stop_source stop;
    recording_sink sink;
    sink.fail_on = {0, 1, 7, 8, 9, 20};
    sink.stop = &stop;
    sink.stop_after = 30;
    run_stats st;
    auto r = run(reader, sink, stop.get_token(), fast_retries(), &st);
    ASSERT_TRUE(r) << r.error_value().message;
    ASSERT_EQ(sink.got.size(), 30u);
    for (std::uint64_t i = 0; i < 30; ++i) EXPECT_EQ(sink.got[i].sequence, i);
    // A step that delivered some events before a failure reports them; the failure comes
    // back at once on the next step (calls 7 and 20 here), so run() sees four failures.
    EXPECT_EQ(sink.calls, 36u);
    EXPECT_EQ(st.retries, 4u);
    EXPECT_EQ(st.failures, 4u);
    EXPECT_EQ(st.events, 30u);
    EXPECT_EQ(sink.flushes, 31u);  // after each batch (before its files go: max_batch 1), and at the end
    EXPECT_EQ(visible_files(dir.path()), 0u);
}

// A permanent sink error ends run() with that error; the event's file is kept.
TEST(Run, PermanentSinkErrorStopsAndKeepsTheEvent) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(w.write(numbered(i)));
    spool_reader_options ro;
    ro.directory = dir.path();
    ro.max_batch = 1;
    auto reader = spool_reader<binary_codec>::open(ro).value();
    recording_sink sink;
    sink.fail_on = {2, 3, 4, 5, 6, 7, 8, 9};  // every try from the third event on
    sink.code = make_error_code(errc::invalid_value);
    std::stop_source stop;
    auto r = run(reader, sink, stop.get_token(), fast_retries());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, errc::invalid_value);
    EXPECT_EQ(sink.got.size(), 2u);
    EXPECT_EQ(visible_files(dir.path()), 3u);  // the refused event and the two after it
    EXPECT_EQ(sink.flushes, 3u);  // after each of the two batches delivered, and at the end
}

// retry.max_attempts consecutive failures: run() gives up with the last error.
TEST(Run, GivesUpAfterMaxAttempts) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    ASSERT_TRUE(w.write(numbered(1)));
    auto reader = spool_reader<binary_codec>::open({.directory = dir.path()}).value();
    recording_sink sink;
    sink.fail_on = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::stop_source stop;
    run_stats st;
    auto r = run(reader, sink, stop.get_token(), fast_retries(3), &st);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is_transient(r.error_value()));
    EXPECT_EQ(st.retries, 3u);
    EXPECT_EQ(st.failures, 4u);
    EXPECT_EQ(visible_files(dir.path()), 1u);
}

// binlog files -> spool is one run() call; it ends when the files are done, with
// exactly the events read_file + event_adapter produce, in order.
TEST(Run, BinlogFileToSpool) {
    ASSERT_TRUE(std::filesystem::exists(fixture)) << "fixture missing: " << fixture;
    std::vector<event> expected;
    binlog::event_adapter ad([&](const event& e) { expected.push_back(e); });
    ASSERT_TRUE(binlog::read_file(fixture, ad));
    ASSERT_TRUE(ad.finish());
    ASSERT_GT(expected.size(), 100u);

    temp_dir dir;
    auto src = binlog::file_source::open({.files = {fixture}, .events_per_step = 7}).value();
    auto out = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    auto r = run(src, out, std::stop_token{}, fast_retries());
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(src.done());

    std::vector<std::filesystem::path> files;
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    ASSERT_EQ(files.size(), expected.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
        std::ifstream in(files[i], std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), {});
        binary_codec codec;
        auto e = decode(codec, bytes);
        ASSERT_TRUE(e) << e.error_value().message;
        EXPECT_EQ(*e, expected[i]) << "event " << i;
    }
}

// A file cut at an event boundary inside a transaction: the incomplete final transaction is
// reported, its rows withheld by default, or delivered and closed by a rollback "interrupted".
TEST(Run, BinlogFileCutInsideATransactionIsReported) {
    std::vector<event> expected;
    binlog::event_adapter ad([&](const event& e) { expected.push_back(e); });
    ASSERT_TRUE(binlog::read_file(fixture, ad));
    ASSERT_TRUE(ad.finish());
    temp_dir dir;
    std::size_t begin_at = 0;
    const auto cut = dir.path() / "cut.binlog";
    ASSERT_TRUE(test::cut_inside_last_transaction(fixture, cut, expected, begin_at));

    auto src = binlog::file_source::open({.files = {cut.string()}}).value();
    recording_sink sink;
    ASSERT_TRUE(run(src, sink, std::stop_token{}, fast_retries()));
    ASSERT_TRUE(src.incomplete());
    EXPECT_EQ(src.incomplete()->id, expected[begin_at].transaction.id);
    EXPECT_EQ(src.incomplete()->offset, expected[begin_at].source.offset);
    EXPECT_GE(src.incomplete()->events, 1u);
    EXPECT_FALSE(src.incomplete()->delivered);
    // Equal but for the file's name (the copy's) and, for the row before the cut, whether it was
    // known to be its transaction's last (nothing followed it in the cut copy).
    auto same = [](event a, const event& b) {
        a.source.file = b.source.file;
        a.transaction.last = b.transaction.last;
        return a == b;
    };
    ASSERT_EQ(sink.got.size(), begin_at);  // everything before the cut transaction, nothing of it
    for (std::size_t i = 0; i < begin_at; ++i) EXPECT_TRUE(same(sink.got[i], expected[i])) << i;

    auto marked = binlog::file_source::open({.files = {cut.string()}, .incomplete = binlog::incomplete_policy::mark}).value();
    recording_sink all;
    ASSERT_TRUE(run(marked, all, std::stop_token{}, fast_retries()));
    ASSERT_TRUE(marked.incomplete());
    EXPECT_TRUE(marked.incomplete()->delivered);
    ASSERT_GT(all.got.size(), begin_at + 2);
    for (std::size_t i = 0; i + 1 < all.got.size(); ++i) EXPECT_TRUE(same(all.got[i], expected[i])) << i;
    const event& last = all.got.back();
    EXPECT_EQ(last.kind, event_kind::rollback);
    EXPECT_EQ(last.cause(), end_cause::interrupted);
    EXPECT_EQ(last.transaction.id, expected[begin_at].transaction.id);

    // The whole file: nothing incomplete, every event delivered.
    auto whole = binlog::file_source::open({.files = {fixture}}).value();
    recording_sink full;
    ASSERT_TRUE(run(whole, full, std::stop_token{}, fast_retries()));
    EXPECT_FALSE(whole.incomplete());
    EXPECT_EQ(full.got.size(), expected.size());
}

// A sink failure in the middle of a transaction: the binlog file source delivers that
// transaction again from its begin event (whole transactions at least once).
TEST(Run, BinlogFileSourceRedeliversTheFailedTransactionFromItsBegin) {
    std::vector<event> expected;
    binlog::event_adapter ad([&](const event& e) { expected.push_back(e); });
    ASSERT_TRUE(binlog::read_file(fixture, ad));
    ASSERT_TRUE(ad.finish());
    // Fail on the second row of the first transaction with two rows or more.
    std::size_t fail_at = 0, begin_at = 0;
    for (std::size_t i = 0; i + 2 < expected.size(); ++i)
        if (expected[i].kind == event_kind::begin && is_row_event(expected[i + 1].kind) &&
            is_row_event(expected[i + 2].kind)) {
            begin_at = i;
            fail_at = i + 2;
            break;
        }
    ASSERT_GT(fail_at, 0u);
    auto src = binlog::file_source::open({.files = {fixture}}).value();
    recording_sink sink;
    sink.fail_on = {fail_at};
    auto r = run(src, sink, std::stop_token{}, fast_retries());
    ASSERT_TRUE(r) << r.error_value().message;
    // Delivered: everything up to the failure, then the transaction again from its begin.
    ASSERT_EQ(sink.got.size(), expected.size() + (fail_at - begin_at));
    for (std::size_t i = 0; i < fail_at; ++i) EXPECT_EQ(sink.got[i].source, expected[i].source) << i;
    for (std::size_t i = begin_at; i < expected.size(); ++i) {
        const event& g = sink.got[fail_at + (i - begin_at)];
        EXPECT_EQ(g.kind, expected[i].kind) << i;
        EXPECT_EQ(g.source, expected[i].source) << i;
        EXPECT_EQ(g.after, expected[i].after) << i;
    }
}

// The same failure into a transactional sink: the partial transaction is discarded
// first, so every transaction reaches the spool once.
TEST(Run, BinlogFileToTransactionalSpoolDeliversEachTransactionOnce) {
    std::vector<event> expected;
    binlog::event_adapter ad([&](const event& e) { expected.push_back(e); });
    ASSERT_TRUE(binlog::read_file(fixture, ad));
    ASSERT_TRUE(ad.finish());
    temp_dir dir;
    std::filesystem::create_directory(dir.path() / "spool");
    auto sink = spool_sink<binary_codec>::open({.spool = {.directory = dir.path() / "spool", .durability = durability::none},
                                                .checkpoint = dir.path() / "checkpoint"})
                    .value();
    // A sink wrapper that fails once, transiently, in the middle of the fifth transaction
    // (the file_source publishes its cursor after every group).
    struct failing_once {
        spool_sink<binary_codec>* s;
        std::size_t writes = 0, fail_at = 0;
        result<void> write(const event& e) {
            if (writes++ == fail_at) return error::make(errc::unavailable, "test", "sink", "once");
            return s->write(e);
        }
        result<void> write(std::span<const event> b) { return write_each(*this, b); }
        result<void> flush() { return s->flush(); }
        result<std::optional<std::string>> load_cursor() { return s->load_cursor(); }
        result<void> publish(std::string_view c) { return s->publish(c); }
        result<void> discard() { return s->discard(); }
    };
    std::size_t fail_at = 0, seen_begins = 0;
    for (std::size_t i = 0; i + 1 < expected.size(); ++i) {
        if (expected[i].kind == event_kind::begin && ++seen_begins == 5) {
            fail_at = i + 1;
            break;
        }
    }
    ASSERT_GT(fail_at, 0u);
    failing_once f{&sink, 0, fail_at};
    static_assert(transactional_sink<failing_once>);
    auto src = binlog::file_source::open({.files = {fixture}}).value();
    auto r = run(src, f, std::stop_token{}, fast_retries());
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(visible_files(dir.path() / "spool"), expected.size());
    const std::string cursor = sink.load_cursor().value().value();
    EXPECT_EQ(cursor.rfind("file=01_all_types.binlog\noffset=", 0), 0u) << cursor;  // the position after the last group
    // A second run resumes from that cursor: nothing is delivered again.
    auto again = binlog::file_source::open({.files = {fixture}}).value();
    ASSERT_TRUE(run(again, sink, std::stop_token{}, fast_retries()));
    EXPECT_EQ(visible_files(dir.path() / "spool"), expected.size());
    EXPECT_EQ(sink.load_cursor().value().value(), cursor);
}

// The transactional spool sink: publish() makes staged groups visible with their
// cursor; discard() drops a transaction in progress; a restart recovers.
TEST(SpoolSink, PublishDiscardAndRecover) {
    temp_dir dir;
    const auto spool = dir.path() / "spool";
    std::filesystem::create_directory(spool);
    const spool_sink_options o{.spool = {.directory = spool, .durability = durability::none},
                               .checkpoint = dir.path() / "cp"};
    auto row = numbered(1);
    event begin, commit;
    begin.kind = event_kind::begin;
    commit.kind = event_kind::commit;
    {
        auto s = spool_sink<binary_codec>::open(o).value();
        EXPECT_FALSE(s.load_cursor().value().has_value());
        ASSERT_TRUE(s.write(begin));
        ASSERT_TRUE(s.write(row));
        ASSERT_TRUE(s.write(commit));
        ASSERT_TRUE(s.write(begin));
        ASSERT_TRUE(s.write(row));  // a transaction in progress
        ASSERT_TRUE(s.publish("pos=1"));
        EXPECT_EQ(visible_files(spool), 3u);
        ASSERT_TRUE(s.discard());
        ASSERT_TRUE(s.write(begin));
        ASSERT_TRUE(s.write(row));
        ASSERT_TRUE(s.write(row));
        ASSERT_TRUE(s.write(commit));
        // crash before publish: nothing of the second transaction is visible
    }
    EXPECT_EQ(visible_files(spool), 3u);
    auto s = spool_sink<binary_codec>::open(o).value();
    EXPECT_EQ(s.load_cursor().value().value(), "pos=1");
    EXPECT_EQ(s.recovery().removed, 4u);
    EXPECT_EQ(visible_files(spool), 3u);
    // An interrupted rollback is a discard, never written.
    event rb;
    rb.kind = event_kind::rollback;
    rb.statement = std::string(to_string(end_cause::interrupted));
    EXPECT_EQ(rb.cause(), end_cause::interrupted);
    ASSERT_TRUE(s.write(begin));
    ASSERT_TRUE(s.write(rb));
    ASSERT_TRUE(s.publish("pos=2"));
    EXPECT_EQ(visible_files(spool), 3u);
}

// checkpoint_file: round trip, refusal of malformed cursors, damaged files kept and reported.
TEST(CheckpointFile, RoundTripAndDamage) {
    temp_dir dir;
    checkpoint_file f(dir.path() / "cp");
    EXPECT_FALSE(f.load().value().has_value());
    const checkpoint_record rec{"a=1\nb=x=y", "run_1:7"};
    ASSERT_TRUE(f.save(rec));
    EXPECT_EQ(f.load().value().value(), rec);
    EXPECT_FALSE(f.save({"no equals sign", ""}));
    EXPECT_FALSE(f.save({"staged=1", ""}));
    EXPECT_FALSE(f.save({"", ""}));
    EXPECT_FALSE(f.save({"a=1", "x\ny"}));
    std::string text;
    {
        std::ifstream in(dir.path() / "cp");
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    EXPECT_TRUE(text.starts_with("rowcast-checkpoint 1\na=1\nb=x=y\nstaged=run_1:7\nend crc32=")) << text;
    // A file whose CRC is right but whose lines hold what save() never writes (found by fuzz_checkpoint).
    for (std::string_view bad : {std::string_view("a=1\0x", 5), std::string_view("a=1\rx")}) {
        std::ofstream(dir.path() / "cp", std::ios::trunc | std::ios::binary)
            << detail::checkpoint::serialize({std::string(bad), ""}, "rowcast-checkpoint");
        auto r = f.load();
        ASSERT_FALSE(r);
        EXPECT_NE(r.error_value().message.find("carriage return or NUL"), std::string::npos) << r.error_value().message;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        std::string bad = text;
        bad[i] = static_cast<char>(bad[i] ^ 0x04);
        std::ofstream(dir.path() / "cp", std::ios::trunc) << bad;
        auto r = f.load();
        ASSERT_FALSE(r) << "flip at " << i;
        EXPECT_NE(r.error_value().message.find("kept"), std::string::npos) << r.error_value().message;
    }
}

// Issue 19 §1: the checkpoint's temporary is never written through a planted link, the file gets
// exactly mode 0640 whatever the umask, and a link or a FIFO in the checkpoint's place is refused
// by load() (never followed, never blocked on: the load runs in a child under a liveness guard).
TEST(CheckpointFile, PlantedLinksAndFifosAreRefusedNeverFollowed) {
    temp_dir dir;
    const auto victim = dir.path() / "victim";
    std::ofstream(victim) << "precious";
    std::filesystem::create_symlink(victim, dir.path() / ".cp.tmp");
    checkpoint_file f(dir.path() / "cp");
    const mode_t old = ::umask(0077);
    auto saved = f.save({"a=1", ""});
    ::umask(old);
    ASSERT_TRUE(saved) << saved.error_value().message;
    EXPECT_EQ(test::slurp(victim), "precious");
    struct stat st {};
    ASSERT_EQ(::lstat((dir.path() / "cp").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / ".cp.tmp"));
    // A link in the checkpoint's place (to a valid checkpoint elsewhere): refused, not read.
    std::filesystem::rename(dir.path() / "cp", dir.path() / "elsewhere");
    std::filesystem::create_symlink(dir.path() / "elsewhere", dir.path() / "cp");
    auto r = f.load();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error_value().message.find("symbolic link"), std::string::npos) << r.error_value().message;
    // A FIFO: an error, without blocking.
    std::filesystem::remove(dir.path() / "cp");
    ASSERT_EQ(::mkfifo((dir.path() / "cp").c_str(), 0600), 0);
    const auto out = test::run_in_child([&] {
        auto l = f.load();
        return !l && l.error_value().message.find("a FIFO") != std::string::npos ? 0 : 1;
    });
    ASSERT_FALSE(out.hung) << "load() blocked on a FIFO";
    EXPECT_EQ(out.status, 0);
}

// Issue 19 §1: a checkpoint inside the spool directory is refused even with a hidden name (whoever
// writes the spool could replace it); the docs used to suggest ".<name>" there.
TEST(SpoolSink, CheckpointInsideTheSpoolIsRefused) {
    temp_dir dir;
    for (const char* name : {"cp", ".cp"}) {
        auto s = spool_sink<binary_codec>::open({.spool = {.directory = dir.path()}, .checkpoint = dir.path() / name});
        ASSERT_FALSE(s) << name;
        EXPECT_NE(s.error_value().message.find("must not be in the spool directory"), std::string::npos)
            << s.error_value().message;
    }
}

// CRC-valid files with what save() never writes: another version, a repeated "staged" line
// (mutation survivors ckpt-version and ckpt-staged-twice).
TEST(CheckpointFile, RefusesOtherVersionsAndRepeatedStaged) {
    temp_dir dir;
    checkpoint_file f(dir.path() / "cp");
    auto load = [&](const std::string& body) {
        char tail[32];
        std::snprintf(tail, sizeof tail, "end crc32=%08x\n", static_cast<unsigned>(detail::crc32(body.data(), body.size())));
        std::ofstream(dir.path() / "cp", std::ios::trunc | std::ios::binary) << body << tail;
        return f.load();
    };
    auto ok = load("rowcast-checkpoint 1\na=1\nstaged=x\n");
    ASSERT_TRUE(ok) << ok.error_value().message;
    EXPECT_EQ(ok->value(), (checkpoint_record{"a=1", "x"}));
    auto v2 = load("rowcast-checkpoint 2\na=1\n");
    ASSERT_FALSE(v2);
    EXPECT_EQ(v2.error_value().code, make_error_code(errc::unsupported_version)) << v2.error_value().message;
    auto twice = load("rowcast-checkpoint 1\na=1\nstaged=x\nstaged=y\n");
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error_value().message.find("repeated key 'staged'"), std::string::npos) << twice.error_value().message;
}

// callback_sink turns void/bool/result callables and exceptions into results.
TEST(CallbackSink, ReturnsAndExceptions) {
    int n = 0;
    callback_sink a([&](const event&) { ++n; });
    EXPECT_TRUE(a.write(event{}));
    callback_sink b([](const event&) { return false; });
    EXPECT_FALSE(b.write(event{}));
    callback_sink c([](const event&) -> void { throw std::runtime_error("boom"); });
    auto r = c.write(event{});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error_value().message.find("boom"), std::string::npos);
    std::size_t batches = 0;
    callback_sink d([&](std::span<const event> s) { batches += s.size(); });
    std::vector<event> three(3);
    EXPECT_TRUE(d.write(std::span<const event>(three)));
    EXPECT_TRUE(d.write(three[0]));
    EXPECT_EQ(batches, 4u);
    EXPECT_EQ(n, 1);
}
