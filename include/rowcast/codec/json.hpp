// rowcast/codec/json.hpp: the JSON codec (component rowcast::json).
//
// One event is one JSON object. Envelopes (docs/json.md), each with a "rowcast"
// object carrying what its own fields cannot, so decoding gives back exactly the event:
//  - json_envelope::rowcast (default): smpl-repl's message ("schema", "table",
//    "timestamp", "operation", "primary", "keys", "columns", "new", "old") with typed
//    JSON values (docs/value-mapping.md);
//  - json_envelope::debezium: the Debezium MySQL/MariaDB connector's messages and value
//    encodings (json_options::debezium: decimal/time/binary/bigint modes, bare payload or
//    schema + payload): row changes ("before", "after", "source", "transaction", "op",
//    "ts_ms/us/ns"), transaction-topic BEGIN/END messages ("status", "event_count",
//    "data_collections") and schema-change messages ("ddl", "tableChanges");
//    encode_key() writes the message key;
//  - json_envelope::maxwell: Maxwell's messages ("database", "table", "type", "ts",
//    "xid", "xoffset", "commit", "position", "data", "old" with the changed columns…);
//  - json_envelope::smpl_repl: smpl-repl's message strictly as smpl-repl wrote it (every
//    value a string, "YYYY-MM-DD HH:MM:SS" times, "primary" always present).
// The decoder recognises the envelope by its fields, accepts smpl-repl's original
// messages (no types, every value a string), Debezium's and Maxwell's own messages, and
// ignores unknown fields.
//
// Encoding writes straight into the caller's string; decoding is a single
// bounds-checked pass into the event (no DOM) that never throws on bad input:
// errors are "[rowcast.json.<errc>] at $.new.id (byte 123): …".
//
// nlohmann integration: with this header, `nlohmann::json j = ev;` and
// `j.get<rowcast::event>()` work (also with nlohmann::ordered_json); from_json
// throws rowcast::exception on bad input.
//
// Thread-safety: a json_codec caches column lists (encode: the last one; decode: up to
// 64, by their JSON bytes), scratch buffers and, for the debezium envelope, the rows per
// table of the open transaction (END's event_count and data_collections); use one codec
// per thread and per stream. Copies are independent.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/codec/detail/json/decode.hpp>
#include <rowcast/codec/detail/json/wire.hpp>
#include <rowcast/codec/detail/json/wire_options.hpp>
#include <rowcast/codec/detail/json/write.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN

/// The message layout written by json_codec::encode.
enum class json_envelope {
    rowcast,    ///< smpl-repl compatible message with typed values + "rowcast" object (default)
    debezium,   ///< Debezium MySQL/MariaDB connector messages + "rowcast" object
    maxwell,    ///< Maxwell messages + "rowcast" object
    smpl_repl,  ///< smpl-repl messages, strict (string values) + "rowcast" object
};

/// Input limits of the JSON decoder. Exceeding one is errc::limit_exceeded.
struct json_limits {
    std::size_t max_input_size = std::size_t{64} << 20;  ///< bytes of one event's JSON text
    std::size_t max_depth = 64;                          ///< nesting of objects/arrays (the event object is 1)
    std::size_t max_columns = 4096;                      ///< columns of one event
};

/// Options of json_codec.
struct json_options {
    /// Envelope written by encode(). decode() recognises either envelope by its
    /// fields; only a message with neither's fields falls back to this one.
    json_envelope envelope = json_envelope::rowcast;
    json_limits limits{};
    /// The debezium envelope's modes (encode, and decode of its values).
    debezium_options debezium{};
    /// maxwell and smpl_repl envelopes: add the "rowcast" object (exact round trip).
    bool extension = true;
};

/// JSON codec; models rowcast::event_codec (name "json", content type "application/json").
class json_codec {
public:
    static constexpr std::string_view name = "json";
    static constexpr std::string_view content_type = "application/json";

    json_codec() { apply_limits(); }
    explicit json_codec(json_options o) : opt_(o) { apply_limits(); }

    const json_options& options() const noexcept { return opt_; }

    /// Appends the event as one JSON object (no trailing newline) to `out`.
    /// Never fails: values that do not round-trip in their natural form are
    /// written tagged; metadata strings that are not valid UTF-8 (names, ids)
    /// get U+FFFD for the invalid bytes.
    void encode(const event& e, std::string& out) { encode_impl(e, out); }
    /// Same for a view.
    void encode(const event_view& e, std::string& out) { encode_impl(e, out); }

    /// Appends the Kafka message key of the event in the debezium envelope (JSON, no
    /// newline): the primary-key columns of a row event ({"id":1004}; "null" without a
    /// primary key), {"id": …} for transaction messages, {"databaseName": …} for schema
    /// changes; with debezium.schemas, as {"schema": …, "payload": …}. A tombstone is this
    /// key with a null value after a delete (a keyed transport's decision).
    void encode_key(const event& e, std::string& out) {
        detail::json_sink sink(out, scratch_, &enc_cache_);
        detail::append_json_debezium_key(sink, e, opt_.debezium, wire_);
    }

    /// True when a tombstone (encode_key()'s key with a null value) follows the event's
    /// message: a delete in the debezium envelope with debezium.tombstones_on_delete (as
    /// Debezium, also for a table without primary key, whose key is null). keyed_codec.
    bool tombstone_after(const event& e) const noexcept {
        return e.kind == event_kind::delete_ && opt_.envelope == json_envelope::debezium &&
               opt_.debezium.tombstones_on_delete;
    }

    /// Decodes the JSON object at the start of `in` (after optional white space)
    /// into `into`, reusing its storage, and returns the bytes consumed: the
    /// object and the white space after it (so JSON Lines input is decoded by
    /// calling again on the rest). On error `into` is left in an unspecified but
    /// valid state and the error names the field path and byte offset.
    result<std::size_t> decode(std::string_view in, event& into) { return dec_.decode(in, into); }

private:
    template <class S>
    void encode_impl(const basic_event<S>& e, std::string& out) {
        detail::json_sink sink(out, scratch_, &enc_cache_);
        switch (opt_.envelope) {
            case json_envelope::debezium: detail::append_json_debezium_wire(sink, e, opt_.debezium, wire_); break;
            case json_envelope::maxwell: detail::append_json_maxwell(sink, e, wire_, opt_.extension); break;
            case json_envelope::smpl_repl: detail::append_json_smpl_strict(sink, e, wire_, opt_.extension); break;
            case json_envelope::rowcast: detail::append_json_rowcast(sink, e); break;
        }
    }
    void apply_limits() {
        dec_.max_input_size = opt_.limits.max_input_size;
        dec_.max_depth = opt_.limits.max_depth ? opt_.limits.max_depth : 1;
        dec_.max_columns = opt_.limits.max_columns;
        dec_.prefer_debezium = opt_.envelope == json_envelope::debezium;
        dec_.dbz = opt_.debezium;
    }

    json_options opt_{};
    detail::json_decoder dec_;
    std::string scratch_;
    detail::json_columns_cache enc_cache_;
    detail::wire_state wire_;
};

static_assert(event_codec<json_codec>);
static_assert(keyed_codec<json_codec>);

ROWCAST_NAMESPACE_END

/// nlohmann::json support: `nlohmann::json j = ev;`, `j.get<rowcast::event>()`.
/// The JSON is the default envelope; nlohmann::json sorts keys, so column order
/// comes from "columns". from_json throws rowcast::exception on bad input.
template <>
struct nlohmann::adl_serializer<rowcast::event> {
    template <class BasicJsonType>
    static void to_json(BasicJsonType& j, const rowcast::event& e) {
        std::string s, scratch;
        {
            rowcast::detail::json_sink sink(s, scratch);
            rowcast::detail::append_json_rowcast(sink, e);
        }
        j = BasicJsonType::parse(s);
    }
    template <class BasicJsonType>
    static void from_json(const BasicJsonType& j, rowcast::event& e) {
        const std::string s = j.dump();
        rowcast::json_codec c;
        auto r = c.decode(s, e);
        if (!r) throw rowcast::exception(r.error_value());
    }
};
