// Test support: strings of every code-point class, for the text codecs' escaping tests
// (test_json.cpp, test_yaml.cpp check them against nlohmann::json and yaml-cpp).
#pragma once

#include <string>
#include <vector>

namespace rowcast::test {

/// Valid UTF-8: every ASCII character (all C0 controls, DEL, quotes, backslash) between
/// two letters, then one character of each non-ASCII class: C1 controls, NBSP, the last
/// 2-byte and first 3-byte characters, U+2028/U+2029, BOM, U+FFFD, the noncharacters
/// U+FFFE/U+FFFF, and non-BMP characters up to U+10FFFF.
inline std::vector<std::string> valid_code_point_classes() {
    std::vector<std::string> v;
    for (int c = 0; c < 0x80; ++c) v.push_back(std::string("a") + static_cast<char>(c) + "b");
    for (const char* s : {"\xC2\x80", "\xC2\x85", "\xC2\x9F", "\xC2\xA0", "\xDF\xBF", "\xE0\xA0\x80", "\xE2\x80\xA8",
                          "\xE2\x80\xA9", "\xEF\xBB\xBF", "\xEF\xBF\xBD", "\xEF\xBF\xBE", "\xEF\xBF\xBF",
                          "\xF0\x90\x80\x80", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"})
        v.push_back(std::string("x") + s + "y");
    std::string all_controls;  // every C0 control and DEL in one string
    for (int c = 0; c < 0x20; ++c) all_controls += static_cast<char>(c);
    all_controls += '\x7f';
    v.push_back(all_controls);
    return v;
}

/// Bytes that are not UTF-8, and what a metadata string holding them becomes: each byte
/// that does not start a valid sequence is replaced by U+FFFD (docs/json.md, docs/yaml.md).
struct invalid_utf8_case {
    std::string bytes;
    std::string replaced;
};

inline std::vector<invalid_utf8_case> invalid_utf8_cases() {
    const std::string r = "\xEF\xBF\xBD";
    return {
        {"a\x80" "b", "a" + r + "b"},                                // lone continuation byte
        {"\xFF", r},                                                 // never valid
        {"\xC0\x80", r + r},                                         // overlong NUL
        {"\xC3\x28", r + "("},                                       // lead byte without its continuation
        {"\xED\xA0\x80", r + r + r},                                 // UTF-16 surrogate U+D800
        {"\xF4\x90\x80\x80", r + r + r + r},                         // beyond U+10FFFF
        {"\xF0\x9F\x98", r + r + r},                                 // cut 4-byte sequence
        {"ok \xE2\x80", "ok " + r + r},                              // cut 3-byte sequence at the end
    };
}

}  // namespace rowcast::test
