// rowcast/codec/yaml.hpp: the YAML codec (component rowcast::yaml, needs yaml-cpp).
//
// One event is one YAML document that starts with "---". The document carries
// the same information as the default JSON envelope (rowcast/codec/json.hpp):
// a block mapping with `schema`, `table`, `timestamp`, `operation`, `primary`,
// `keys`, `columns`, `new`, `old` and a `rowcast` mapping (version, sequence,
// transaction, source, commit_time, capture_time, statement, types). Values use
// the natural/tagged forms of docs/value-mapping.md; see docs/yaml.md.
//
//  - encode(e, out) appends one document to `out` with a hand-written emitter
//    (no yaml-cpp, no DOM). Strings that YAML could read as anything else are
//    double-quoted with escapes; the output is always valid UTF-8.
//    Every document ends with a "..." (document end) line.
//  - decode(in, e) decodes the first document of `in` (up to the next "---" line,
//    an optional "..." line, or the end) and returns the bytes consumed, including
//    trailing white space; call it again on the rest for a stream. A document must
//    end with "..." (else errc::truncated: a cut file never reads as another event),
//    except the flat legacy form of the tmod UDF (`op: ins|upd|del` + columns as
//    keys, no `operation`), which it also reads.
//    Errors: "[rowcast.yaml.<errc>] at <where>: <what>", where <where> is a line
//    and column (syntax errors, counted from the start of `in`) or a field path
//    such as "new.id" (with the node's line and column at the end of <what>).
//
// Limits (yaml_options): a document larger than max_document_size bytes, or nested
// deeper than max_nesting levels (checked by a pre-scan before yaml-cpp, whose
// parser recurses), is rejected with errc::limit_exceeded.
//
// Thread-safety: a yaml_codec object is not thread-safe (it caches the last column
// list); use one per thread. Distinct objects may be used concurrently.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/codec/detail/yaml/emit.hpp>
#include <rowcast/codec/detail/yaml/parse.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// Decoding limits of the YAML codec.
struct yaml_options {
    /// Largest document accepted by decode, in bytes.
    std::size_t max_document_size = std::size_t{64} << 20;
    /// Deepest nesting accepted by decode (block levels + flow brackets, estimated
    /// conservatively). rowcast's own documents nest at most 5 levels.
    std::size_t max_nesting = 64;
};

/// YAML codec: one event per "---" document. Satisfies rowcast::event_codec.
class yaml_codec {
public:
    static constexpr std::string_view name = "yaml";
    static constexpr std::string_view content_type = "application/yaml";

    yaml_codec() = default;
    explicit yaml_codec(yaml_options o) : opt_(o) {}

    const yaml_options& options() const noexcept { return opt_; }

    /// Appends `e` as one YAML document ("---\n" … "...\n") to `out`. Never fails.
    void encode(const event& e, std::string& out) const { detail::yaml_encode(e, out); }

    /// Decodes the first document of `in` into `e` (all of its fields are replaced).
    /// Returns the bytes consumed, or an error (see the file comment). On error `e`
    /// is left in an unspecified but valid state.
    result<std::size_t> decode(std::string_view in, event& e) {
        auto span = detail::yaml_frame(in, opt_.max_document_size);
        if (!span) return std::move(span.error_value());
        const std::string_view doc = in.substr(0, span->end);
        if (const std::size_t at = detail::yaml_depth_exceeded(doc, opt_.max_nesting); at != std::string_view::npos)
            return error::make(errc::limit_exceeded, name, "at " + line_col(doc, at),
                               "nesting deeper than the configured maximum of " + std::to_string(opt_.max_nesting));
        YAML::Node root;
        try {
            root = YAML::Load(std::string(doc));
        } catch (const YAML::Exception& x) {
            std::string where = detail::yaml_line_col(x.mark);
            return error::make(errc::syntax_error, name, where.empty() ? "at document" : "at " + where, x.msg);
        } catch (const std::exception& x) {
            return error::make(errc::syntax_error, name, "at document", x.what());
        }
        // rowcast's documents end with "..."; without it the text may be a cut one (a
        // truncated spool file) that would decode as another event. Legacy tmod documents
        // (a mapping with `op` and no `operation`) never had the marker.
        if (!span->terminated && root.IsMap() && !is_legacy(root))
            return error::make(errc::truncated, name, "at byte " + std::to_string(span->end),
                               "the document does not end with a '...' line (truncated?)");
        try {
            auto r = build(root, e);
            if (!r) return std::move(r.error_value());
        } catch (const YAML::Exception& x) {
            std::string where = detail::yaml_line_col(x.mark);
            return error::make(errc::type_mismatch, name, where.empty() ? "at document" : "at " + where, x.msg);
        } catch (const std::exception& x) {
            return error::make(errc::invalid_value, name, "at document", x.what());
        }
        return span->consumed;
    }

private:
    static std::string line_col(std::string_view doc, std::size_t at) {
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i < at && i < doc.size(); ++i) {
            if (doc[i] == '\n') ++line, col = 1;
            else ++col;
        }
        return "line " + std::to_string(line) + ", column " + std::to_string(col);
    }

    result<void> build(const YAML::Node& root, event& e) {
        detail::yaml_reader rd;
        if (!root.IsMap()) {
            rd.mismatch("document", "a mapping (one event)", root);
            return rd.take_error();
        }
        // Reset `e`, keeping the images' capacity.
        std::vector<value> before = std::move(e.before), after = std::move(e.after);
        before.clear();
        after.clear();
        e = event{};
        e.before = std::move(before);
        e.after = std::move(after);

        std::vector<column> cols;
        const bool legacy = is_legacy(root);
        YAML::Node new_img, old_img;
        bool has_new = false, has_old = false;
        if (legacy) {
            if (!rd.read_legacy(root, e, cols)) return rd.take_error();
        } else {
            if (!rd.read_envelope(root, e, cols, new_img, old_img, has_new, has_old)) return rd.take_error();
        }
        if (!cols.empty() || is_row_event(e.kind)) {
            if (cache_ && cache_->columns == cols) e.columns = cache_;
            else e.columns = cache_ = make_columns(std::move(cols));
        }
        if (!legacy) {
            const bool need_after = e.kind == event_kind::insert || e.kind == event_kind::update;
            const bool need_before = e.kind == event_kind::update || e.kind == event_kind::delete_;
            const column_list& cl = *(e.columns ? e.columns : empty_columns());
            if (need_after) {
                if (!has_new) return error::make(errc::missing_field, name, "at new", "a " + std::string(to_string(e.kind)) + " event needs 'new'");
                if (!rd.read_image(cl, new_img, "new", e.after)) return rd.take_error();
            } else if (has_new && !new_img.IsNull() && !(new_img.IsMap() && new_img.size() == 0)) {
                return error::make(errc::invalid_value, name, "at new",
                                   "a " + std::string(to_string(e.kind)) + " event has no after image");
            }
            if (need_before) {
                if (!has_old) return error::make(errc::missing_field, name, "at old", "a " + std::string(to_string(e.kind)) + " event needs 'old'");
                if (!rd.read_image(cl, old_img, "old", e.before)) return rd.take_error();
            } else if (has_old && !old_img.IsNull() && !(old_img.IsMap() && old_img.size() == 0)) {
                return error::make(errc::invalid_value, name, "at old",
                                   "a " + std::string(to_string(e.kind)) + " event has no before image");
            }
        }
        return validate(e, name);
    }

    /// The flat tmod form: a mapping with `op` and no `operation` (docs/yaml.md).
    static bool is_legacy(const YAML::Node& root) { return root["op"] && !root["operation"]; }

    static const columns_ptr& empty_columns() {
        static const columns_ptr empty = make_columns({});
        return empty;
    }

    yaml_options opt_{};
    columns_ptr cache_;
};

static_assert(event_codec<yaml_codec>);

ROWCAST_NAMESPACE_END
