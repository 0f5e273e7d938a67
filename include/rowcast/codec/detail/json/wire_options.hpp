// Internal: the options of the wire-compatible JSON envelopes (Debezium, Maxwell), kept
// apart from the encoder so json.hpp and the decoder share them. Public names are
// re-exported by rowcast/codec/json.hpp.
#pragma once

#include <rowcast/version.hpp>

#include <string>

ROWCAST_NAMESPACE_BEGIN

/// Debezium's decimal.handling.mode: DECIMAL as Connect Decimal bytes (precise, the
/// connector's default), as a string, or as a double (lossy).
enum class decimal_handling { precise, string, double_ };
/// Debezium's time.precision.mode.
enum class time_precision { adaptive_time_microseconds, adaptive, connect };
/// Debezium's binary.handling.mode: BYTES (base64 in JSON, the default) or a string form.
enum class binary_handling { bytes, base64, base64_url_safe, hex };
/// Debezium's bigint.unsigned.handling.mode: long (int64, values over 2^63-1 wrap, as
/// Debezium does) or precise (Connect Decimal, scale 0).
enum class bigint_unsigned_handling { long_, precise };

/// Options of the debezium envelope (docs/json.md "Debezium envelope").
struct debezium_options {
    decimal_handling decimal = decimal_handling::precise;
    time_precision time = time_precision::adaptive_time_microseconds;
    binary_handling binary = binary_handling::bytes;
    bigint_unsigned_handling bigint_unsigned = bigint_unsigned_handling::long_;
    /// true: {"schema": <Connect schema>, "payload": …}, what Kafka Connect's JsonConverter
    /// with schemas.enable=true writes and reads; false: the bare payload.
    bool schemas = false;
    /// Debezium's topic.prefix: source.name and the Connect schema names.
    std::string server_name = "rowcast";
    /// Add the "rowcast" object (exact round trip of every event; consumers ignore it).
    bool extension = true;
    /// Debezium's tombstones.on.delete (its default, true): after each delete message a
    /// tombstone, the delete's key with a null value, so that a compacted topic forgets the
    /// key. A JSON text cannot be a null message: keyed transports write it
    /// (json_codec::tombstone_after(); stream_sink with key_separator). false: none.
    bool tombstones_on_delete = true;
};

ROWCAST_NAMESPACE_END
