// rowcast/udf/detail/kept_outputs.hpp: the loadable function's outputs kept open for
// the server's lifetime, one per configuration (udf/journal_output.hpp,
// udf/datagram_output.hpp). Inside a trigger the function's init runs for every row,
// so the output asked for last is compared field by field first (no key built, no
// allocation in the steady state); a miss looks the key up and opens on a miss.
//
// Never destroyed (as column_cache::process_wide()): no static destructor runs at the
// library's unload or the server's exit. Thread-safety: get() from any thread.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/version.hpp>

#include <map>
#include <memory>
#include <mutex>

ROWCAST_NAMESPACE_BEGIN
namespace detail::udf {

template <class Output, class Key>
class kept_outputs {
public:
    /// The process-wide instance for (Output, Key).
    static kept_outputs& process_wide() {
        alignas(kept_outputs) static unsigned char storage[sizeof(kept_outputs)];
        static kept_outputs* const k = std::construct_at(reinterpret_cast<kept_outputs*>(storage));
        return *k;
    }

    /// The output for `c`: the last one if same(last settings, c), else the one kept under
    /// make_key(c), else open(c) (-> result<Output>), kept from then on. A kept output for
    /// which usable(output, c) is false (its directory was replaced) is opened again; holders
    /// of the old one keep it until they release it.
    template <class Same, class MakeKey, class Open, class Usable>
    result<std::shared_ptr<Output>> get(const ::rowcast::udf::config& c, Same same, MakeKey make_key, Open open,
                                        Usable usable) {
        const std::lock_guard lock(m_);
        if (last_ && same(last_cfg_, c) && usable(*last_, c)) return last_;
        const Key k = make_key(c);
        std::shared_ptr<Output>& slot = open_[k];
        if (!slot || !usable(*slot, c)) {
            auto o = open(c);
            if (!o) {
                open_.erase(k);
                return o.error_value();
            }
            slot = std::make_shared<Output>(std::move(*o));
        }
        last_ = slot;
        last_cfg_ = c;
        return slot;
    }

private:
    std::mutex m_;
    std::map<Key, std::shared_ptr<Output>> open_;  // by settings, kept open
    std::shared_ptr<Output> last_;                 // the one asked for last
    ::rowcast::udf::config last_cfg_;              // and its settings
};

}  // namespace detail::udf
ROWCAST_NAMESPACE_END
