// rowcast/codec/by_name.hpp: choosing a codec by its name, as programs and
// configuration files do (needs the json and yaml components: rowcast::json and
// rowcast::yaml; the binary codec is in the core).
//
//   auto spec = rowcast::parse_codec_spec("json", "debezium");   // result<codec_spec>
//   if (!spec) { usage(spec.error_value().message); }
//   rowcast::with_codec(*spec, [&]<class Codec>(Codec codec) { return follow(std::move(codec)); });
//
// Names: codecs "json", "yaml", "binary" (Codec::name of each codec class; the names
// alone, without the codecs, are codec/names.hpp);
// JSON envelopes "rowcast" (the default), "debezium", "maxwell" and "smpl-repl" (json_envelope).
// Names are matched exactly (lower case).
//
// Errors (errc::invalid_value, component "codec"), listing what is accepted:
//   "[rowcast.codec.invalid_value] codec: unknown codec 'xml' (accepted: json, yaml, binary)"
//   "[rowcast.codec.invalid_value] envelope: unknown envelope 'x' (accepted: rowcast, debezium, maxwell, smpl-repl)"
//   "[rowcast.codec.invalid_value] envelope: the debezium envelope is for the json codec, not yaml"
//
// with_codec(spec, f) calls f once with a codec object of the chosen type
// (json_codec with the envelope, yaml_codec or binary_codec, each with default
// limits) and returns what f returns; f must return the same type for every
// codec (a generic lambda usually does).
//
// Thread-safety: plain functions over values.
#pragma once

#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/names.hpp>
#include <rowcast/codec/yaml.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

ROWCAST_NAMESPACE_BEGIN

/// The accepted JSON envelope names, in the order of json_envelope.
inline constexpr std::array<std::string_view, 4> envelope_names = {"rowcast", "debezium", "maxwell", "smpl-repl"};

/// "rowcast", "debezium", "maxwell", "smpl-repl".
constexpr std::string_view to_string(json_envelope e) noexcept { return envelope_names[static_cast<std::size_t>(e)]; }

/// A codec and, for JSON, its envelope.
struct codec_spec {
    codec_kind codec = codec_kind::json;
    json_envelope envelope = json_envelope::rowcast;
    friend bool operator==(const codec_spec&, const codec_spec&) = default;
};

static_assert(codec_names[static_cast<std::size_t>(codec_kind::json)] == json_codec::name &&
              codec_names[static_cast<std::size_t>(codec_kind::yaml)] == yaml_codec::name &&
              codec_names[static_cast<std::size_t>(codec_kind::binary)] == binary_codec::name);

/// Parses "rowcast", "debezium", "maxwell" or "smpl-repl".
inline result<json_envelope> parse_envelope_name(std::string_view name) {
    return detail::by_name::parse<json_envelope>("envelope", name, envelope_names);
}

/// Parses a codec name and an envelope name together. An empty envelope means the
/// default (rowcast); a non-default envelope with a codec other than json is an error
/// (the envelope is a JSON layout: asking for it with another codec is a mistake).
inline result<codec_spec> parse_codec_spec(std::string_view codec, std::string_view envelope = {}) {
    auto c = parse_codec_name(codec);
    if (!c) return c.error_value();
    codec_spec spec{*c, json_envelope::rowcast};
    if (envelope.empty()) return spec;
    auto e = parse_envelope_name(envelope);
    if (!e) return e.error_value();
    if (*e != json_envelope::rowcast && *c != codec_kind::json)
        return error::make(errc::invalid_value, "codec", "envelope",
                           "the " + std::string(envelope) + " envelope is for the json codec, not " +
                               std::string(codec));
    spec.envelope = *e;
    return spec;
}

/// Calls f(codec) with a codec object of the type `spec` names and returns its result.
template <class F>
    requires std::invocable<F&, json_codec> && std::invocable<F&, yaml_codec> && std::invocable<F&, binary_codec>
decltype(auto) with_codec(const codec_spec& spec, F&& f) {
    using R = std::invoke_result_t<F&, json_codec>;
    static_assert(std::is_same_v<R, std::invoke_result_t<F&, yaml_codec>> &&
                      std::is_same_v<R, std::invoke_result_t<F&, binary_codec>>,
                  "with_codec: f must return the same type for every codec");
    switch (spec.codec) {
        case codec_kind::yaml: return f(yaml_codec{});
        case codec_kind::binary: return f(binary_codec{});
        case codec_kind::json: break;
    }
    return f(json_codec(json_options{.envelope = spec.envelope}));
}

ROWCAST_NAMESPACE_END
