// Test support: decodes a stream of back-to-back encodings (JSON Lines, YAML documents,
// binary records) into events, failing the test at the first error.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/event.hpp>

#include <gtest/gtest.h>

#include <string_view>
#include <utility>
#include <vector>

namespace rowcast::test {

template <class Codec>
std::vector<event> decode_all(std::string_view in, Codec codec = Codec{}) {
    std::vector<event> out;
    while (!in.empty()) {
        event e;
        auto n = codec.decode(in, e);
        if (!n) {
            ADD_FAILURE() << n.error_value().message;
            break;
        }
        out.push_back(std::move(e));
        in.remove_prefix(*n);
    }
    return out;
}

}  // namespace rowcast::test
