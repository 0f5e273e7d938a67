// rowcast/mysql/quote.hpp: SQL text helpers for statements sent to MySQL/MariaDB: identifiers
// in backticks, string literals that mean the same bytes whatever the session's sql_mode
// (ANSI_QUOTES aside: identifiers are backticked). The one place rowcast quotes SQL (the
// client's users: the trigger generator, the snapshot reader, the SQL sink…); no connection
// needed, unlike libmariadb's mysql_real_escape_string.
// Thread-safety: pure functions.
#pragma once

#include <rowcast/version.hpp>

#include <algorithm>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace mysql {

/// `identifier`, backticks doubled: safe for reserved words and any Unicode name.
inline std::string quote_identifier(std::string_view s) {
    std::string out = "`";
    for (char c : s) {
        if (c == '`') out += '`';
        out += c;
    }
    return out + "`";
}

/// A string literal that means the same bytes whatever the sql_mode (NO_BACKSLASH_ESCAPES or
/// not): '…' with quotes doubled when there is no backslash or control byte, else X'hex'.
inline std::string quote_string(std::string_view s) {
    const bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c != '\\' && c >= 0x20 && c != 0x7f;
    });
    if (plain) {
        std::string out = "'";
        for (char c : s) {
            if (c == '\'') out += '\'';
            out += c;
        }
        return out + "'";
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "X'";
    for (unsigned char c : s) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out + "'";
}

}  // namespace mysql
ROWCAST_NAMESPACE_END
