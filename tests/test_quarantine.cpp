// rowcast/os/quarantine.hpp: entries with reasons, no duplicates, distinct names, moves;
// in a directory another user may write: planted links never written through, a linked
// quarantine directory refused, FIFOs moved without blocking, exact modes (issue 19 §1, §6).
#include "support/temp_dir.hpp"
#include "support/watchdog.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/os/quarantine.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include <sys/stat.h>

using namespace rowcast;

namespace {
using rowcast::test::slurp;
std::set<std::string> names_in(const std::filesystem::path& dir) {
    std::set<std::string> out;
    for (const auto& f : std::filesystem::directory_iterator(dir)) out.insert(f.path().filename().string());
    return out;
}
}  // namespace

TEST(Quarantine, StoresEntryWithReasonOnceAndKeepsOthersApart) {
    test::temp_dir d("rowcast-quarantine");
    quarantine q(d.path() / "q");  // created on first use
    auto a = q.store("f.json", "event A", "[rowcast.dns.invalid_name] host 'x y'");
    ASSERT_TRUE(a) << a.error_value().message;
    EXPECT_EQ(a->status, quarantine_status::stored);
    EXPECT_EQ(a->path, d.path() / "q" / "f.json");
    EXPECT_EQ(slurp(a->path), "event A");
    EXPECT_EQ(slurp(quarantine::reason_path(a->path)), "[rowcast.dns.invalid_name] host 'x y'\n");
    struct stat st {};
    ASSERT_EQ(::stat(q.directory().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0750u);
    ASSERT_EQ(::stat(a->path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    // The same bytes again (a replay): nothing written.
    auto again = q.store("f.json", "event A", "other reason");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, quarantine_status::already_present);
    EXPECT_EQ(again->path, a->path);
    EXPECT_EQ(slurp(quarantine::reason_path(a->path)), "[rowcast.dns.invalid_name] host 'x y'\n");
    // Another event under the same name: -2, -3.
    auto b = q.store("f.json", "event B", "why B");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->path.filename(), "f.json-2");
    auto c = q.store("f.json", "event C", "why C");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->path.filename(), "f.json-3");
    EXPECT_EQ(q.store("f.json", "event B", "why B")->status, quarantine_status::already_present);
    EXPECT_EQ(names_in(q.directory()),
              (std::set<std::string>{"f.json", "f.json.reason", "f.json-2", "f.json-2.reason", "f.json-3", "f.json-3.reason"}));
    // Names that are not plain file names are refused.
    for (const char* bad : {"", ".", "..", "a/b", "../x"}) {
        auto r = q.store(bad, "x", "y");
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error_value().code, make_error_code(errc::invalid_value));
        EXPECT_EQ(r.error_value().message.rfind("[rowcast.quarantine.invalid_value] ", 0), 0u);
    }
}

TEST(Quarantine, MovesFilesInAndReportsVanishedSources) {
    test::temp_dir d("rowcast-quarantine");
    quarantine q(d.path() / "q");
    std::ofstream(d.path() / "bad.json") << "not json";
    auto m = q.move_in(d.path() / "bad.json", "bad.json", "[rowcast.json.syntax_error] at byte 0: x");
    ASSERT_TRUE(m) << m.error_value().message;
    EXPECT_EQ(m->status, quarantine_status::stored);
    EXPECT_FALSE(std::filesystem::exists(d.path() / "bad.json"));
    EXPECT_EQ(slurp(m->path), "not json");
    EXPECT_EQ(slurp(quarantine::reason_path(m->path)), "[rowcast.json.syntax_error] at byte 0: x\n");
    // The same file again: the source goes, nothing new in quarantine.
    std::ofstream(d.path() / "bad.json") << "not json";
    auto again = q.move_in(d.path() / "bad.json", "bad.json", "r");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, quarantine_status::already_present);
    EXPECT_FALSE(std::filesystem::exists(d.path() / "bad.json"));
    // Different content under the same name.
    std::ofstream(d.path() / "bad.json") << "other";
    auto other = q.move_in(d.path() / "bad.json", "bad.json", "r2");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->path.filename(), "bad.json-2");
    // Gone before the move: not an error, nothing written.
    auto gone = q.move_in(d.path() / "nothing.json", "nothing.json", "r");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, quarantine_status::source_missing);
    EXPECT_EQ(names_in(q.directory()), (std::set<std::string>{"bad.json", "bad.json.reason", "bad.json-2", "bad.json-2.reason"}));
}

TEST(Quarantine, LargeFilesAreComparedAndMovedInChunksAlsoAcrossFileSystems) {
    test::temp_dir d("rowcast-quarantine");
    quarantine q(d.path() / "q");
    std::string big(300000, 'a');  // several 64 KiB chunks
    for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
    std::string big2 = big;
    big2[200000] = '!';  // differs only in a late chunk
    // A source on another file system when there is one (/dev/shm is tmpfs): rename fails with
    // EXDEV and the file is copied; on the same file system it is renamed. Both must give the same.
    std::filesystem::path src_dir = d.path();
    struct stat a {}, b {};
    if (::stat("/dev/shm", &b) == 0 && ::stat(d.path().c_str(), &a) == 0 && a.st_dev != b.st_dev &&
        ::access("/dev/shm", W_OK) == 0)
        src_dir = "/dev/shm";
    const auto src = src_dir / ("rowcast-quarantine-src-" + std::to_string(::getpid()));
    std::ofstream(src, std::ios::binary) << big;
    auto m = q.move_in(src, "big", "too large");
    ASSERT_TRUE(m) << m.error_value().message;
    EXPECT_EQ(m->status, quarantine_status::stored);
    EXPECT_FALSE(std::filesystem::exists(src));
    EXPECT_EQ(slurp(m->path), big);
    std::ofstream(src, std::ios::binary) << big2;
    auto m2 = q.move_in(src, "big", "too large");
    ASSERT_TRUE(m2) << m2.error_value().message;
    EXPECT_EQ(m2->path.filename(), "big-2");
    std::ofstream(src, std::ios::binary) << big;
    auto m3 = q.move_in(src, "big", "too large");
    ASSERT_TRUE(m3);
    EXPECT_EQ(m3->status, quarantine_status::already_present);
    EXPECT_EQ(m3->path.filename(), "big");
    EXPECT_FALSE(std::filesystem::exists(src));
    EXPECT_EQ(q.store("big", big2, "r")->path.filename(), "big-2");  // store compares in chunks too
    EXPECT_EQ(q.store("big", big2, "r")->status, quarantine_status::already_present);
    // A symbolic link is moved as the link, never followed.
    std::filesystem::create_symlink(d.path() / "q" / "big", d.path() / "link");
    auto l = q.move_in(d.path() / "link", "link", "a symbolic link");
    ASSERT_TRUE(l) << l.error_value().message;
    EXPECT_TRUE(std::filesystem::is_symlink(l->path));
}

TEST(Quarantine, EventsAreNamedAfterTheirSourceFile) {
    test::temp_dir d("rowcast-quarantine");
    quarantine q(d.path() / "q");
    event e;
    e.kind = event_kind::insert;
    e.schema = "s";
    e.table = "t";
    e.sequence = 42;
    e.source.file = "/var/spool/rowcast/1795352710000000123-000000000001-4711.binary";
    EXPECT_EQ(quarantine_name(e), "1795352710000000123-000000000001-4711.binary");
    binary_codec codec;
    auto r = quarantine_event(q, codec, e, "why");
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(r->path.filename(), "1795352710000000123-000000000001-4711.binary");
    auto back = decode(codec, slurp(r->path));
    ASSERT_TRUE(back) << back.error_value().message;
    EXPECT_EQ(back->table, "t");
    e.source.file.clear();
    EXPECT_EQ(quarantine_name(e), "event-42");
    e.source.file = "/x/.hidden";
    EXPECT_EQ(quarantine_name(e), "event-42");
}

TEST(Quarantine, DirectoryThatCannotBeCreatedIsAnIoError) {
    test::temp_dir d("rowcast-quarantine");
    std::ofstream(d.path() / "file") << "x";  // a file where the directory's parent should be (fails as root too)
    quarantine q(d.path() / "file" / "q");
    auto r = q.store("f", "x", "y");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, make_error_code(errc::io_error));
    EXPECT_EQ(r.error_value().message.rfind("[rowcast.quarantine.io_error] " + (d.path() / "file").string() +
                                                ": cannot open the parent of the quarantine directory: ",
                                            0),
              0u)
        << r.error_value().message;
    EXPECT_FALSE(q.check());
}

// Issue 19 §6: a mistyped path is an error; the quarantine never creates its parents (rowcast-dns
// used to create a missing spool directory through them and then wait on an empty folder).
TEST(Quarantine, MissingParentIsAnErrorAndIsNotCreated) {
    test::temp_dir d("rowcast-quarantine");
    quarantine q(d.path() / "spool-typo" / "quarantine");
    auto c = q.check();
    ASSERT_FALSE(c);
    EXPECT_NE(c.error_value().message.find("spool-typo"), std::string::npos) << c.error_value().message;
    EXPECT_FALSE(q.store("f", "x", "y"));
    std::ofstream(d.path() / "f") << "x";
    EXPECT_FALSE(q.move_in(d.path() / "f", "f", "y"));
    EXPECT_FALSE(std::filesystem::exists(d.path() / "spool-typo"));
    EXPECT_TRUE(std::filesystem::exists(d.path() / "f"));  // kept
    EXPECT_TRUE(quarantine(d.path() / "q").check());       // missing, parent there: fine
}

// Issue 19 §1: links planted in the quarantine (by a user who can write it) are never written
// through; every file gets exactly its mode whatever the umask.
TEST(Quarantine, PlantedLinksAreNeverWrittenThroughAndModesAreExact) {
    test::temp_dir d("rowcast-quarantine");
    const auto victim = d.path() / "victim";
    std::ofstream(victim) << "precious";
    const auto q_dir = d.path() / "q";
    std::filesystem::create_directory(q_dir);
    std::filesystem::create_hard_link(victim, q_dir / "h.json.reason");        // a hard link to the victim
    std::filesystem::create_symlink(victim, q_dir / "s.json.reason");          // a symbolic link to it
    std::filesystem::create_symlink(d.path() / "created", q_dir / "n.json.reason");  // a dangling one
    std::filesystem::create_symlink(victim, q_dir / "m.json");                 // the entry name itself
    const mode_t old = ::umask(0077);
    quarantine q(q_dir);
    auto h = q.store("h.json", "event H", "why H");
    auto s = q.store("s.json", "event S", "why S");
    auto n = q.store("n.json", "event N", "why N");
    auto m = q.store("m.json", "event M", "why M");
    ::umask(old);
    ASSERT_TRUE(h) << h.error_value().message;
    ASSERT_TRUE(s) << s.error_value().message;
    ASSERT_TRUE(n) << n.error_value().message;
    ASSERT_TRUE(m) << m.error_value().message;
    EXPECT_EQ(slurp(victim), "precious");
    EXPECT_FALSE(std::filesystem::exists(d.path() / "created"));
    EXPECT_EQ(slurp(q_dir / "h.json.reason"), "why H\n");
    EXPECT_EQ(slurp(q_dir / "s.json.reason"), "why S\n");
    EXPECT_FALSE(std::filesystem::is_symlink(q_dir / "s.json.reason"));
    EXPECT_EQ(m->path.filename(), "m.json-2");  // the link's name is taken, never written through
    EXPECT_EQ(slurp(m->path), "event M");
    for (const char* f : {"h.json", "h.json.reason", "s.json.reason", "n.json.reason", "m.json-2", "m.json-2.reason"}) {
        struct stat st {};
        ASSERT_EQ(::lstat((q_dir / f).c_str(), &st), 0) << f;
        EXPECT_TRUE(S_ISREG(st.st_mode)) << f;
        EXPECT_EQ(st.st_mode & 0777, 0640u) << f;
        EXPECT_EQ(st.st_nlink, 1u) << f;
    }
}

// Issue 19 §1: a quarantine directory that is a symbolic link is refused: nothing is moved or
// written where it points, the source stays.
TEST(Quarantine, DirectoryThatIsASymbolicLinkIsRefused) {
    test::temp_dir d("rowcast-quarantine");
    std::filesystem::create_directory(d.path() / "elsewhere");
    std::filesystem::create_directory_symlink(d.path() / "elsewhere", d.path() / "q");
    quarantine q(d.path() / "q");
    std::ofstream(d.path() / "bad.json") << "not json";
    auto m = q.move_in(d.path() / "bad.json", "bad.json", "why");
    ASSERT_FALSE(m);
    EXPECT_NE(m.error_value().message.find("a symbolic link"), std::string::npos) << m.error_value().message;
    auto s = q.store("e", "x", "y");
    ASSERT_FALSE(s);
    auto c = q.check();
    ASSERT_FALSE(c);
    EXPECT_NE(c.error_value().message.find("a symbolic link"), std::string::npos) << c.error_value().message;
    EXPECT_TRUE(std::filesystem::is_empty(d.path() / "elsewhere"));
    EXPECT_EQ(slurp(d.path() / "bad.json"), "not json");
}

// Issue 19 §5: a FIFO is moved as the FIFO, never opened (an open for reading would block).
TEST(Quarantine, FifoIsMovedWithoutBlocking) {
    test::temp_dir d("rowcast-quarantine");
    ASSERT_EQ(::mkfifo((d.path() / "x.json").c_str(), 0600), 0);
    quarantine q(d.path() / "q");
    const auto out = test::run_in_child([&] {
        auto m = q.move_in(d.path() / "x.json", "x.json", "a FIFO");
        return m && m->status == quarantine_status::stored ? 0 : 1;
    });
    ASSERT_FALSE(out.hung) << "move_in blocked on the FIFO";
    EXPECT_EQ(out.status, 0);
    EXPECT_TRUE(std::filesystem::is_fifo(d.path() / "q" / "x.json"));
    EXPECT_FALSE(std::filesystem::exists(d.path() / "x.json"));
    EXPECT_EQ(slurp(d.path() / "q" / "x.json.reason"), "a FIFO\n");
}
