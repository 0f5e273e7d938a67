// rowcast/udf/spool_output.hpp: where the loadable functions put their events:
// a spool_writer over the codec the config names (docs/udf.md, docs/spool.md).
//
// `spool_output<Codecs...>` holds one spool_writer for whichever of `Codecs`
// has `C::name == config.codec`; the caller lists the codecs it is built with
// (the json and yaml codecs need the rowcast::json / rowcast::yaml components),
// e.g. `udf::spool_output<binary_codec, json_codec>`.
//
// Errors: open() returns "[rowcast.udf.unsupported] <config file>: codec yaml is
// not built in (built in: binary, json)" for a codec not in the list, and the
// spool writer's io_error (directory missing or not writable) as is; write()
// returns the spool writer's error.
//
// Thread-safety: write() may be called from several threads at once (as
// spool_writer::write); open() on its arguments only.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/version.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

template <event_codec... Codecs>
    requires(sizeof...(Codecs) > 0)
class spool_output {
public:
    /// Opens the spool writer for `c.codec` on `c.spool_directory` with the config's
    /// durability and file mode.
    static result<spool_output> open(const config& c) {
        std::optional<result<spool_output>> out;
        (try_open<Codecs>(c, out), ...);
        if (out) return std::move(*out);
        std::string built;
        ((built += (built.empty() ? "" : ", "), built += Codecs::name), ...);
        return error::make(errc::unsupported, "udf", c.file,
                           "codec " + c.codec + " is not built in (built in: " + built + ")");
    }

    /// Encodes `e` and writes it into the spool (one file).
    result<void> write(const event& e) {
        return std::visit(
            [&](auto& w) -> result<void> {
                auto r = w.write(e);
                if (!r) return std::move(r.error_value());
                return {};
            },
            writer_);
    }

    /// The codec in use ("json", "yaml", "binary").
    std::string_view codec_name() const noexcept { return codec_name_; }

private:
    using writer_variant = std::variant<spool_writer<Codecs>...>;
    spool_output(writer_variant w, std::string_view name) : writer_(std::move(w)), codec_name_(name) {}

    template <class Codec>
    static void try_open(const config& c, std::optional<result<spool_output>>& out) {
        if (out || c.codec != Codec::name) return;
        auto w = spool_writer<Codec>::open({c.spool_directory, c.durability, c.file_mode});
        if (!w) out.emplace(std::move(w.error_value()));
        else out.emplace(spool_output(writer_variant(std::in_place_type<spool_writer<Codec>>, std::move(*w)),
                                     Codec::name));
    }

    writer_variant writer_;
    std::string_view codec_name_;
};

}  // namespace udf
ROWCAST_NAMESPACE_END
