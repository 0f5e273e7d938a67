// rowcast-binlog: prints binlog files as rowcast events, a structured mysqlbinlog.
//
//   rowcast-binlog [options] FILE...
//     --format json|yaml|binary   output: JSON Lines (default), YAML documents, or the binary codec
//     --schema NAME               only events of this database (repeatable)
//     --table NAME                only rows of this table (repeatable; "db.table" or "table")
//     --start-position N          emit only events at file offsets >= N (first file); earlier
//                                 TABLE_MAP/FORMAT_DESCRIPTION events are still read
//     --stop-position N           stop at the first event at offset >= N (last file)
//     --statements-as-ddl         pass statement-based DML through as ddl events instead of failing
//     --no-checksum-verify        do not verify CRC32 trailers
// Column names come from TABLE_MAP metadata (binlog_row_metadata=FULL); "@1", "@2"… otherwise.
// Exit codes: 0 ok, 1 a file could not be decoded (the error names file and offset), 2 usage.
#include <rowcast/binlog/parser.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace {

int usage(const char* msg) {
    std::fprintf(stderr,
                 "rowcast-binlog: %s\nusage: rowcast-binlog [--format json|yaml|binary] [--schema DB]... [--table T]...\n"
                 "       [--start-position N] [--stop-position N] [--statements-as-ddl] [--no-checksum-verify] FILE...\n",
                 msg);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string format = "json";
    std::set<std::string> schemas, tables;
    std::uint64_t start = 0, stop = UINT64_MAX;
    rowcast::binlog::parser_options po;
    rowcast::binlog::reader_options ro;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--format") {
            const char* v = next();
            if (!v) return usage("--format needs a value");
            format = v;
            if (format != "json" && format != "yaml" && format != "binary") return usage("unknown format");
        } else if (a == "--schema") {
            const char* v = next();
            if (!v) return usage("--schema needs a value");
            schemas.insert(v);
        } else if (a == "--table") {
            const char* v = next();
            if (!v) return usage("--table needs a value");
            tables.insert(v);
        } else if (a == "--start-position" || a == "--stop-position") {
            const char* v = next();
            if (!v) return usage("a position needs a value");
            char* end = nullptr;
            const auto n = std::strtoull(v, &end, 10);
            if (!end || *end) return usage("positions are byte offsets");
            (a == "--start-position" ? start : stop) = n;
        } else if (a == "--statements-as-ddl") {
            po.statements_as_ddl = true;
        } else if (a == "--no-checksum-verify") {
            ro.verify_checksum = false;
        } else if (!a.empty() && a[0] == '-') {
            return usage(("unknown option " + a).c_str());
        } else {
            files.push_back(a);
        }
    }
    if (files.empty()) return usage("no binlog file given");

    rowcast::json_codec json;
    rowcast::yaml_codec yaml;
    rowcast::binary_codec binary;
    std::string out;
    bool emitting = true;
    auto wanted = [&](const rowcast::event& e) {
        if (!schemas.empty() && !e.schema.empty() && !schemas.count(e.schema)) return false;
        if (!schemas.empty() && e.kind == rowcast::event_kind::ddl && e.schema.empty()) return false;
        if (!tables.empty() && rowcast::is_row_event(e.kind) && !tables.count(e.table) &&
            !tables.count(e.schema + "." + e.table))
            return false;
        return true;
    };
    auto sink = [&](const rowcast::event& e) {
        if (!emitting || !wanted(e)) return;
        out.clear();
        if (format == "json") {
            json.encode(e, out);
            out += '\n';
        } else if (format == "yaml") {
            yaml.encode(e, out);
        } else {
            binary.encode(e, out);
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
    };
    rowcast::binlog::event_adapter<decltype(sink)> adapter(sink);
    rowcast::binlog::parser parser(po);
    for (std::size_t f = 0; f < files.size(); ++f) {
        auto rd = rowcast::binlog::file_reader::open(files[f], ro);
        if (!rd) {
            std::fprintf(stderr, "rowcast-binlog: %s\n", rd.error_value().message.c_str());
            return 1;
        }
        const auto slash = files[f].find_last_of('/');
        parser.set_file(slash == std::string::npos ? files[f] : files[f].substr(slash + 1));
        rowcast::binlog::raw_event ev;
        for (;;) {
            auto n = rd->next(ev);
            if (!n) {
                std::fprintf(stderr, "rowcast-binlog: %s\n", n.error_value().message.c_str());
                return 1;
            }
            if (!*n) break;
            if (f + 1 == files.size() && ev.offset >= stop) break;
            emitting = !(f == 0 && ev.offset < start);
            auto r = parser.feed(ev, adapter);
            if (!r) {
                std::fprintf(stderr, "rowcast-binlog: %s\n", r.error_value().message.c_str());
                return 1;
            }
        }
    }
    (void)adapter.finish();
    const auto& st = parser.stats();
    std::fprintf(stderr, "rowcast-binlog: %llu events, %llu row events, %llu rows, %llu transactions, %llu ignorable skipped\n",
                 static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.row_events),
                 static_cast<unsigned long long>(st.rows), static_cast<unsigned long long>(st.transactions),
                 static_cast<unsigned long long>(st.skipped_ignorable));
    return 0;
}
