// Internal: the small LRU cache both halves of binary_codec keep of encoded column lists
// (the encoder by columns_ptr address, the decoder by a hash of the bytes), bounded by
// an entry count and a byte budget. Lookups are by index; the most recent entry is
// checked first, so the usual run of one table's events costs one comparison.
#pragma once

#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::bin {

template <class Key, class Payload>
class column_cache {
public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    struct entry {
        Key key{};
        std::string bytes;  // the encoded column list
        Payload payload{};
        std::uint64_t stamp = 0;
    };

    /// The entry used last, or null.
    entry* mru() noexcept { return mru_ == npos ? nullptr : &v_[mru_]; }
    /// The entry under `k` (its slot in `slot`), or null with slot = npos.
    entry* find(const Key& k, std::size_t& slot) {
        const auto it = index_.find(k);
        slot = it == index_.end() ? npos : it->second;
        return slot == npos ? nullptr : &v_[slot];
    }
    /// Marks the entry in `slot` as used last.
    void touch(std::size_t slot) noexcept {
        v_[slot].stamp = ++clock_;
        mru_ = slot;
    }
    /// Stores `bytes` and `p` under `k`: in `slot` if it is one from find() (replacing that
    /// entry), else in a new entry after evicting the least recently used ones until
    /// `max_entries` and `max_bytes` leave room.
    entry& put(std::size_t slot, const Key& k, std::string_view bytes, Payload p, std::size_t max_entries,
               std::size_t max_bytes) {
        if (slot != npos) {
            bytes_ -= v_[slot].bytes.size();
        } else {
            while (!v_.empty() && (v_.size() >= max_entries || bytes_ + bytes.size() > max_bytes)) evict();
            slot = v_.size();
            v_.emplace_back();
            index_[k] = slot;
        }
        auto& m = v_[slot];
        m.key = k;
        m.bytes.assign(bytes);
        m.payload = std::move(p);
        bytes_ += m.bytes.size();
        touch(slot);
        return m;
    }
    std::size_t size() const noexcept { return v_.size(); }
    /// Entry i (0 <= i < size()), for a scan of every entry.
    entry& at(std::size_t i) noexcept { return v_[i]; }
    /// Marks `m` (an entry of this cache) as used last.
    void touch(const entry& m) noexcept { touch(static_cast<std::size_t>(&m - v_.data())); }
    void clear() noexcept {
        v_.clear();
        index_.clear();
        bytes_ = 0;
        mru_ = npos;
    }

private:
    void evict() {
        std::size_t victim = 0;
        for (std::size_t i = 1; i < v_.size(); ++i)
            if (v_[i].stamp < v_[victim].stamp) victim = i;
        index_.erase(v_[victim].key);
        bytes_ -= v_[victim].bytes.size();
        if (victim != v_.size() - 1) {
            v_[victim] = std::move(v_.back());
            index_[v_[victim].key] = victim;
        }
        v_.pop_back();
        mru_ = npos;
    }

    std::vector<entry> v_;
    std::unordered_map<Key, std::size_t> index_;
    std::size_t bytes_ = 0;
    std::size_t mru_ = npos;
    std::uint64_t clock_ = 0;
};

}  // namespace detail::bin
ROWCAST_NAMESPACE_END
