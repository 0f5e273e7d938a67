// rowcast/binlog/types.hpp: binlog event type codes, the raw event a reader
// yields, and the decoded table description of a TABLE_MAP event.
//
// Units: offsets are byte offsets in the binlog file (the event's first header
// byte); `timestamp` is seconds since the Unix epoch (UTC) as written by the
// server; lengths are bytes.
//
// Thread-safety: plain values. A `table_info` is immutable once shared.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// Event type codes (MySQL and MariaDB).
enum class event_type : std::uint8_t {
    unknown = 0,
    start_v3 = 1,
    query = 2,
    stop = 3,
    rotate = 4,
    intvar = 5,
    slave = 7,
    append_block = 9,
    delete_file = 11,
    rand = 13,
    user_var = 14,
    format_description = 15,
    xid = 16,
    begin_load_query = 17,
    execute_load_query = 18,
    table_map = 19,
    write_rows_v0 = 20,
    update_rows_v0 = 21,
    delete_rows_v0 = 22,
    write_rows_v1 = 23,
    update_rows_v1 = 24,
    delete_rows_v1 = 25,
    incident = 26,
    heartbeat = 27,
    ignorable = 28,
    rows_query = 29,
    write_rows_v2 = 30,
    update_rows_v2 = 31,
    delete_rows_v2 = 32,
    gtid = 33,               ///< MySQL GTID
    anonymous_gtid = 34,     ///< MySQL
    previous_gtids = 35,     ///< MySQL
    transaction_context = 36,
    view_change = 37,
    xa_prepare = 38,
    partial_update_rows = 39,  ///< MySQL 8 partial JSON update
    transaction_payload = 40,  ///< MySQL 8 compressed transaction
    heartbeat_v2 = 41,
    gtid_tagged = 42,
    annotate_rows = 160,     ///< MariaDB
    binlog_checkpoint = 161, ///< MariaDB
    mariadb_gtid = 162,      ///< MariaDB
    gtid_list = 163,         ///< MariaDB
    start_encryption = 164,  ///< MariaDB
    query_compressed = 165,  ///< MariaDB
    write_rows_compressed_v1 = 166,
    update_rows_compressed_v1 = 167,
    delete_rows_compressed_v1 = 168,
    write_rows_compressed_v2 = 169,
    update_rows_compressed_v2 = 170,
    delete_rows_compressed_v2 = 171,
};

/// Event name as mysqlbinlog prints it ("Query", "Write_rows_v1", …), "Unknown" otherwise.
constexpr std::string_view to_string(event_type t) noexcept {
    switch (t) {
        case event_type::query: return "Query";
        case event_type::stop: return "Stop";
        case event_type::rotate: return "Rotate";
        case event_type::intvar: return "Intvar";
        case event_type::rand: return "Rand";
        case event_type::user_var: return "User_var";
        case event_type::format_description: return "Format_desc";
        case event_type::xid: return "Xid";
        case event_type::begin_load_query: return "Begin_load_query";
        case event_type::execute_load_query: return "Execute_load_query";
        case event_type::table_map: return "Table_map";
        case event_type::write_rows_v1: return "Write_rows_v1";
        case event_type::update_rows_v1: return "Update_rows_v1";
        case event_type::delete_rows_v1: return "Delete_rows_v1";
        case event_type::incident: return "Incident";
        case event_type::heartbeat: return "Heartbeat";
        case event_type::rows_query: return "Rows_query";
        case event_type::write_rows_v2: return "Write_rows";
        case event_type::update_rows_v2: return "Update_rows";
        case event_type::delete_rows_v2: return "Delete_rows";
        case event_type::gtid: return "Gtid";
        case event_type::anonymous_gtid: return "Anonymous_Gtid";
        case event_type::previous_gtids: return "Previous_gtids";
        case event_type::xa_prepare: return "XA_prepare";
        case event_type::partial_update_rows: return "Update_rows_partial";
        case event_type::transaction_payload: return "Transaction_payload";
        case event_type::heartbeat_v2: return "Heartbeat_v2";
        case event_type::annotate_rows: return "Annotate_rows";
        case event_type::binlog_checkpoint: return "Binlog_checkpoint";
        case event_type::mariadb_gtid: return "Gtid(MariaDB)";
        case event_type::gtid_list: return "Gtid_list";
        case event_type::start_encryption: return "Start_encryption";
        case event_type::query_compressed: return "Query_compressed";
        case event_type::write_rows_compressed_v1: return "Write_rows_compressed_v1";
        case event_type::update_rows_compressed_v1: return "Update_rows_compressed_v1";
        case event_type::delete_rows_compressed_v1: return "Delete_rows_compressed_v1";
        default: return "Unknown";
    }
}

/// Header flag: an event the reader may skip if it does not know its type.
inline constexpr std::uint16_t flag_ignorable = 0x80;

/// One event as framed by the reader: header fields and the body (post-header
/// and payload, without the common header and without the CRC32 trailer).
/// `body` points into the reader's buffer: valid until the next read.
struct raw_event {
    std::uint32_t timestamp = 0;   ///< seconds since the epoch (server clock)
    std::uint8_t type = 0;         ///< event_type code
    std::uint32_t server_id = 0;
    std::uint32_t size = 0;        ///< whole event size in bytes, header and CRC included
    std::uint32_t next_position = 0;  ///< log_pos header field (end of this event in the file; 0 inside payloads)
    std::uint16_t flags = 0;
    std::uint64_t offset = 0;      ///< file offset of the event's first byte
    std::string_view body;
    /// Type code of the event that follows, when the source already holds its header
    /// (file_reader does, except at a read-ahead boundary); 0 = unknown. The parser uses it
    /// to tell row callbacks whether more rows follow (txn_info::rows_after).
    std::uint8_t next_type = 0;
};

/// Which server wrote a binlog, from the FORMAT_DESCRIPTION's server version string
/// ("10.11.19-MariaDB-log", "8.0.40"). MariaDB and MySQL differ where the TABLE_MAP does
/// not say: MariaDB counts GEOMETRY columns among the character columns of the charset
/// metadata (MySQL does not), and MariaDB writes its 5.3 TIME/DATETIME/TIMESTAMP format with
/// fractional seconds under the old wire types without their precision.
struct server_flavour {
    bool known = false;    ///< a FORMAT_DESCRIPTION was seen
    bool mariadb = false;  ///< "MariaDB" in the version string
    unsigned version = 0;  ///< major * 10000 + minor * 100 + patch (10.11.19 -> 101119)
};

/// Parses a server version string (the FORMAT_DESCRIPTION's, or the handshake's).
constexpr server_flavour parse_server_version(std::string_view ver) noexcept {
    server_flavour f;
    f.known = true;
    f.mariadb = ver.find("MariaDB") != std::string_view::npos;
    unsigned parts[3] = {0, 0, 0};
    std::size_t i = 0;
    for (int k = 0; k < 3; ++k) {
        while (i < ver.size() && ver[i] >= '0' && ver[i] <= '9' && parts[k] < 100000)
            parts[k] = parts[k] * 10 + static_cast<unsigned>(ver[i++] - '0');
        if (i < ver.size() && ver[i] == '.') ++i;
        else break;
    }
    f.version = parts[0] * 10000 + parts[1] * 100 + parts[2];
    return f;
}

/// wire_column::meta of a TIME/DATETIME/TIMESTAMP column (the pre-5.6 wire types) whose
/// fractional-seconds precision is unknown: MariaDB logs its 5.3 format (precision 1-6) and
/// the plain one (precision 0) under the same type without saying which. Such values are
/// refused unless a schema provider gave the precision.
inline constexpr std::uint16_t unknown_precision = 0xff;

/// The decoding-relevant description of one column as the server logged it.
struct wire_column {
    std::uint8_t type = 0;       ///< MYSQL_TYPE_* code from TABLE_MAP (real type for ENUM/SET strings)
    /// Type metadata as a number (meaning depends on `type`). For TIME/DATETIME/TIMESTAMP (the
    /// pre-5.6 types, which carry none): the fractional-seconds precision, 0 for MySQL, from the
    /// schema provider for MariaDB, or `unknown_precision`.
    std::uint16_t meta = 0;
    std::uint32_t length = 0;    ///< STRING/VARCHAR max bytes; BLOB length bytes; ENUM/SET pack length
    std::uint32_t collation = 0; ///< character set / collation id (0 if not logged)
    bool is_unsigned = false;
    bool nullable = true;
};

/// A table as described by one TABLE_MAP event (plus a schema provider, if the
/// event carried no column names). Shared by the row events that follow it.
struct table_info {
    std::uint64_t table_id = 0;
    std::string schema;
    std::string table;
    std::vector<wire_column> wire;  ///< one per column, table order
    columns_ptr columns;            ///< names, SQL types, primary key, members
    bool names_from_metadata = false;  ///< TABLE_MAP carried column names (binlog_row_metadata=FULL)
    bool signedness_known = false;     ///< TABLE_MAP carried signedness
};
using table_ptr = std::shared_ptr<const table_info>;

}  // namespace binlog
ROWCAST_NAMESPACE_END
