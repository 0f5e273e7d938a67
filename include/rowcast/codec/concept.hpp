// rowcast/codec/concept.hpp: the codec concept every transport is templated on.
//
// A codec turns events into bytes and back:
//   - `c.encode(e, out)` appends the encoding of event `e` to `out` (never
//     clears it), so many events can be framed into one buffer;
//   - `c.decode(in, e)` decodes the first event in `in` into `e` (reusing its
//     storage) and returns the number of bytes consumed, or an error that names
//     what is wrong and where (byte offset or field path). Inputs holding
//     several events are decoded by calling it again on the rest;
//   - `C::name` ("json", "yaml", "binary") and `C::content_type` (a MIME type).
// A `view_codec` can also decode into an `event_view` whose strings point into
// `in` (zero copy); the view is valid only while `in` is.
//
// Codec objects are not thread-safe (they may cache, e.g. column lists); use
// one per thread. They are cheap to construct and copy.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN

template <class C>
concept event_codec = requires(C& c, const event& e, std::string& out, std::string_view in, event& into) {
    { C::name } -> std::convertible_to<std::string_view>;
    { C::content_type } -> std::convertible_to<std::string_view>;
    { c.encode(e, out) } -> std::same_as<void>;
    { c.decode(in, into) } -> std::same_as<result<std::size_t>>;
};

template <class C>
concept view_codec = event_codec<C> && requires(C& c, std::string_view in, event_view& into) {
    { c.decode_view(in, into) } -> std::same_as<result<std::size_t>>;
};

/// A codec whose messages have a key, as keyed transports (Kafka-style topics, compaction)
/// carry it: encode_key() appends the key of an event's message; tombstone_after() says
/// whether a tombstone (that key with a null value) follows the event's message (Debezium's
/// tombstones.on.delete). json_codec models it; a keyed transport such as stream_sink with
/// stream_sink_options::key_separator writes both.
template <class C>
concept keyed_codec = event_codec<C> && requires(C& c, const event& e, std::string& out) {
    { c.encode_key(e, out) } -> std::same_as<void>;
    { c.tombstone_after(e) } -> std::same_as<bool>;
};

/// Encodes one event into a new string.
template <event_codec C>
std::string encode(C& c, const event& e) {
    std::string out;
    c.encode(e, out);
    return out;
}

/// Decodes exactly one event: the whole of `in` must be that event (trailing
/// white space is allowed for text codecs, which consume it).
template <event_codec C>
result<event> decode(C& c, std::string_view in) {
    event e;
    auto n = c.decode(in, e);
    if (!n) return std::move(n.error_value());
    if (*n != in.size())
        return error::make(errc::trailing_data, C::name, "at byte " + std::to_string(*n),
                           std::to_string(in.size() - *n) + " bytes after the event");
    return e;
}

/// Throwing convenience: decodes exactly one event or throws rowcast::exception.
template <event_codec C>
event decode_or_throw(C& c, std::string_view in) {
    return decode(c, in).value();
}

ROWCAST_NAMESPACE_END
