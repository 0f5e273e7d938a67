// checkpointed_sink (pipeline/checkpointed_sink.hpp): a plain sink plus a checkpoint
// file as a transactional sink: publish flushes then saves, the cursor survives a
// reopen, discard marks an open transaction interrupted, a damaged file stops open().
#include <rowcast/pipeline/checkpointed_sink.hpp>

#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

using namespace rowcast;

namespace {

struct recorder {
    std::vector<event> got;
    int flushes = 0;
    bool fail_flush = false;
    result<void> write(const event& e) {
        got.push_back(e);
        return {};
    }
    result<void> write(std::span<const event> b) {
        got.insert(got.end(), b.begin(), b.end());
        return {};
    }
    result<void> flush() {
        ++flushes;
        if (fail_flush) return error::make(errc::io_error, "test", "sink", "flush failed");
        return {};
    }
};

static_assert(transactional_sink<checkpointed_sink<recorder>>);
static_assert(transactional_sink<checkpointed_sink<recorder&>>);

event marker(event_kind k) {
    event e;
    e.kind = k;
    return e;
}

}  // namespace

TEST(CheckpointedSink, PublishFlushesThenSavesAndTheCursorSurvivesAReopen) {
    test::temp_dir dir;
    const auto path = dir.path() / "state";
    recorder out;
    {
        auto s = checkpointed_sink<recorder&>::open(out, checkpoint_file(path, durability::none)).value();
        EXPECT_EQ(*s.load_cursor(), std::nullopt);
        const std::vector<event> batch = {marker(event_kind::begin), test::small_insert(), marker(event_kind::commit)};
        ASSERT_TRUE(s.write(batch));
        ASSERT_TRUE(s.publish("file=b.000001\noffset=120\ngtid="));
        EXPECT_EQ(out.flushes, 1);
        EXPECT_EQ(*s.load_cursor(), std::optional<std::string>("file=b.000001\noffset=120\ngtid="));
        out.fail_flush = true;
        auto r = s.publish("file=b.000001\noffset=400\ngtid=");
        ASSERT_FALSE(r);  // not saved: the events may not be out
        out.fail_flush = false;
    }
    EXPECT_EQ(out.got.size(), 3u);
    auto again = checkpointed_sink<recorder&>::open(out, checkpoint_file(path, durability::none)).value();
    EXPECT_EQ(*again.load_cursor(), std::optional<std::string>("file=b.000001\noffset=120\ngtid="));
}

TEST(CheckpointedSink, DiscardMarksAnOpenTransactionInterrupted) {
    test::temp_dir dir;
    auto s = checkpointed_sink<recorder>::open(recorder{}, checkpoint_file(dir.path() / "state")).value();
    ASSERT_TRUE(s.discard());  // nothing open: nothing written
    EXPECT_TRUE(s.sink().got.empty());
    ASSERT_TRUE(s.write(marker(event_kind::begin)));
    ASSERT_TRUE(s.write(test::small_insert()));
    ASSERT_TRUE(s.discard());
    ASSERT_EQ(s.sink().got.size(), 3u);
    EXPECT_EQ(s.sink().got[2].kind, event_kind::rollback);
    EXPECT_EQ(s.sink().got[2].cause(), end_cause::interrupted);
    ASSERT_TRUE(s.discard());  // closed now
    EXPECT_EQ(s.sink().got.size(), 3u);
}

TEST(CheckpointedSink, ADamagedCheckpointStopsOpen) {
    test::temp_dir dir;
    const auto path = dir.path() / "state";
    std::ofstream(path) << "rowcast-checkpoint 1\nfile=x\n";
    auto s = checkpointed_sink<recorder>::open(recorder{}, checkpoint_file(path));
    ASSERT_FALSE(s);
    EXPECT_NE(s.error_value().message.find(path.string()), std::string::npos) << s.error_value().message;
}
