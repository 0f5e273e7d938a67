// Codec by name (codec/by_name.hpp): the accepted names, the error messages that
// list them, and with_codec calling generic code with the codec the names choose.
#include <rowcast/codec/by_name.hpp>

#include "support/sample_events.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

using namespace rowcast;

TEST(CodecByName, ParsesEveryCodecName) {
    for (codec_kind k : {codec_kind::json, codec_kind::yaml, codec_kind::binary}) {
        auto r = parse_codec_name(to_string(k));
        ASSERT_TRUE(r) << r.error_value().message;
        EXPECT_EQ(*r, k);
    }
    EXPECT_EQ(to_string(codec_kind::json), "json");
    EXPECT_EQ(to_string(codec_kind::yaml), "yaml");
    EXPECT_EQ(to_string(codec_kind::binary), "binary");
}

TEST(CodecByName, UnknownCodecListsTheAcceptedNames) {
    for (std::string_view bad : {"xml", "", "JSON", "json ", "debezium"}) {
        auto r = parse_codec_name(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error_value().code, make_error_code(errc::invalid_value));
        EXPECT_EQ(r.error_value().message, "[rowcast.codec.invalid_value] codec: unknown codec '" + std::string(bad) +
                                               "' (accepted: json, yaml, binary)");
    }
}

TEST(CodecByName, ParsesEveryEnvelopeName) {
    EXPECT_EQ(*parse_envelope_name("rowcast"), json_envelope::rowcast);
    EXPECT_EQ(*parse_envelope_name("debezium"), json_envelope::debezium);
    EXPECT_EQ(to_string(json_envelope::rowcast), "rowcast");
    EXPECT_EQ(to_string(json_envelope::debezium), "debezium");
    EXPECT_EQ(*parse_envelope_name("maxwell"), json_envelope::maxwell);
    EXPECT_EQ(*parse_envelope_name("smpl-repl"), json_envelope::smpl_repl);
    EXPECT_EQ(to_string(json_envelope::maxwell), "maxwell");
    EXPECT_EQ(to_string(json_envelope::smpl_repl), "smpl-repl");
    EXPECT_EQ(*parse_codec_spec("json", "maxwell"), (codec_spec{codec_kind::json, json_envelope::maxwell}));
    EXPECT_FALSE(parse_codec_spec("yaml", "smpl-repl").has_value());
    auto r = parse_envelope_name("yaml");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message,
              "[rowcast.codec.invalid_value] envelope: unknown envelope 'yaml' (accepted: rowcast, debezium, maxwell, smpl-repl)");
}

TEST(CodecByName, SpecCombinesCodecAndEnvelope) {
    EXPECT_EQ(*parse_codec_spec("json"), (codec_spec{codec_kind::json, json_envelope::rowcast}));
    EXPECT_EQ(*parse_codec_spec("json", "debezium"), (codec_spec{codec_kind::json, json_envelope::debezium}));
    EXPECT_EQ(*parse_codec_spec("yaml", "rowcast"), (codec_spec{codec_kind::yaml, json_envelope::rowcast}));
    EXPECT_EQ(*parse_codec_spec("binary", ""), (codec_spec{codec_kind::binary, json_envelope::rowcast}));
    auto r = parse_codec_spec("yaml", "debezium");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message,
              "[rowcast.codec.invalid_value] envelope: the debezium envelope is for the json codec, not yaml");
    EXPECT_FALSE(parse_codec_spec("xml", "rowcast"));
    EXPECT_FALSE(parse_codec_spec("json", "smpl"));
}

TEST(CodecByName, WithCodecCallsTheChosenCodec) {
    const event e = test::hosts_update();
    auto encode_with = [&](codec_spec spec) {
        return with_codec(spec, [&]<class Codec>(Codec codec) {
            std::string out;
            codec.encode(e, out);
            return std::string(Codec::name) + ":" + out;
        });
    };
    json_codec json;
    yaml_codec yaml;
    binary_codec binary;
    json_codec debezium({.envelope = json_envelope::debezium});
    EXPECT_EQ(encode_with({codec_kind::json}), "json:" + encode(json, e));
    EXPECT_EQ(encode_with({codec_kind::json, json_envelope::debezium}), "json:" + encode(debezium, e));
    EXPECT_EQ(encode_with({codec_kind::yaml}), "yaml:" + encode(yaml, e));
    EXPECT_EQ(encode_with({codec_kind::binary}), "binary:" + encode(binary, e));
    EXPECT_NE(encode(json, e), encode(debezium, e));
}

TEST(CodecByName, WithCodecDecodesWhatTheSameSpecEncoded) {
    const event e = test::hosts_update();
    for (std::string_view name : codec_names) {
        auto spec = parse_codec_spec(name);
        ASSERT_TRUE(spec);
        const result<event> back = with_codec(*spec, [&](auto codec) { return decode(codec, encode(codec, e)); });
        ASSERT_TRUE(back) << name << ": " << back.error_value().message;
        EXPECT_EQ(*back, e) << name;
    }
}
