// Internal: a bump allocator for the rendered values of one row (binlog view path).
#pragma once

#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::binlog {

/// Scratch storage for the values of one row that are rendered rather than
/// pointed at (latin1 text converted to UTF-8, DECIMAL text, MySQL JSON text,
/// SET names, re-padded BINARY, UUID/INET text). Bytes stored stay at their
/// address until reset(): memory is a list of blocks, never moved. reset()
/// keeps the standard-size blocks for reuse (no allocation in steady state).
class arena {
public:
    /// Copies `s` into the arena; the view is valid until reset().
    std::string_view store(std::string_view s) {
        if (s.empty()) return {};
        char* p = alloc(s.size());
        std::memcpy(p, s.data(), s.size());
        return {p, s.size()};
    }
    /// Uninitialised room for n bytes (n > 0), valid until reset().
    char* alloc(std::size_t n) {
        if (cur_ < blocks_.size() && n <= block_size - used_) [[likely]] {
            char* p = blocks_[cur_].get() + used_;
            used_ += n;
            return p;
        }
        return alloc_slow(n);
    }
    void reset() noexcept {
        cur_ = 0;
        used_ = 0;
        big_.clear();
    }

private:
    char* alloc_slow(std::size_t n) {
        if (n > block_size / 4) {  // large: a block of its own, freed at reset()
            big_.push_back(std::make_unique_for_overwrite<char[]>(n));
            return big_.back().get();
        }
        if (cur_ < blocks_.size() && used_ > 0) ++cur_;
        if (cur_ >= blocks_.size()) blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_size));
        used_ = n;
        return blocks_[cur_].get();
    }

    static constexpr std::size_t block_size = 16 * 1024;
    std::vector<std::unique_ptr<char[]>> blocks_, big_;
    std::size_t cur_ = 0, used_ = 0;
};

/// Sets `dst` to a copy of `v` whose strings live in `a` (valid until a.reset()). Copies the
/// variant whole, then redirects its string in place (cheaper than building a new variant).
inline void store_view(value_view& dst, const value_view& v, arena& a) {
    dst = v;
    // Conditional branches first (predictable per column), the indirect switch only for rare kinds.
    constexpr unsigned with_string = 1u << static_cast<unsigned>(value_kind::decimal) |
                                     1u << static_cast<unsigned>(value_kind::text) |
                                     1u << static_cast<unsigned>(value_kind::bytes) |
                                     1u << static_cast<unsigned>(value_kind::enumeration) |
                                     1u << static_cast<unsigned>(value_kind::set) |
                                     1u << static_cast<unsigned>(value_kind::json) |
                                     1u << static_cast<unsigned>(value_kind::geometry);
    const auto k = dst.kind();
    if (!((with_string >> static_cast<unsigned>(k)) & 1u)) return;
    if (k == value_kind::text) {
        auto& x = *std::get_if<text_view>(&dst);
        x.utf8 = a.store(x.utf8);
        return;
    }
    switch (k) {
        case value_kind::decimal: { auto& x = *std::get_if<decimal_view>(&dst); x.digits = a.store(x.digits); break; }
        case value_kind::bytes: { auto& x = *std::get_if<bytes_view>(&dst); x.data = a.store(x.data); break; }
        case value_kind::enumeration: { auto& x = *std::get_if<enum_value_view>(&dst); x.name = a.store(x.name); break; }
        case value_kind::set: { auto& x = *std::get_if<set_value_view>(&dst); x.names = a.store(x.names); break; }
        case value_kind::json: { auto& x = *std::get_if<json_text_view>(&dst); x.text = a.store(x.text); break; }
        case value_kind::geometry: { auto& x = *std::get_if<geometry_view>(&dst); x.wkb = a.store(x.wkb); break; }
        default: break;
    }
}

/// `dst` as an O (kept if it already is one, so its string keeps its capacity), passed to set.
template <class O, class F>
inline void assign_reusing(value& dst, F&& set) {
    if (auto* o = std::get_if<O>(&dst)) set(*o);
    else set(dst.template emplace<O>());
}

/// Sets `dst` to an owning copy of `src`, reusing the string `dst` already holds when both
/// are of the same kind (no allocation when its capacity suffices).
inline void assign_owning(value& dst, const value_view& src) {
    std::visit(
        [&dst](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, decimal_view>)
                assign_reusing<decimal>(dst, [&x](decimal& o) { o.digits.assign(x.digits); });
            else if constexpr (std::is_same_v<T, text_view>)
                assign_reusing<text>(dst, [&x](text& o) { o.utf8.assign(x.utf8); });
            else if constexpr (std::is_same_v<T, bytes_view>)
                assign_reusing<bytes>(dst, [&x](bytes& o) { o.data.assign(x.data); });
            else if constexpr (std::is_same_v<T, enum_value_view>)
                assign_reusing<enum_value>(dst, [&x](enum_value& o) {
                    o.name.assign(x.name);
                    o.index = x.index;
                });
            else if constexpr (std::is_same_v<T, set_value_view>)
                assign_reusing<set_value>(dst, [&x](set_value& o) {
                    o.names.assign(x.names);
                    o.mask = x.mask;
                });
            else if constexpr (std::is_same_v<T, json_text_view>)
                assign_reusing<json_text>(dst, [&x](json_text& o) { o.text.assign(x.text); });
            else if constexpr (std::is_same_v<T, geometry_view>)
                assign_reusing<geometry>(dst, [&x](geometry& o) {
                    o.wkb.assign(x.wkb);
                    o.srid = x.srid;
                });
            else dst = x;
        },
        src.as_variant());
}

}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
