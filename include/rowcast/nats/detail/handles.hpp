// Internal: RAII owners of cnats objects and the mapping of cnats statuses to
// rowcast errors ("[rowcast.nats.<errc>] <where>: <what>: <cnats text>").
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <memory>
#include <string>
#include <string_view>

#include <nats/nats.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::nats {

/// Calls cnats' destroy function F on the pointer.
template <auto F>
struct destroy_with {
    template <class T>
    void operator()(T* p) const noexcept {
        F(p);
    }
};
inline void close_and_destroy(natsConnection* c) noexcept {
    natsConnection_Close(c);
    natsConnection_Destroy(c);
}

using connection_ptr = std::unique_ptr<natsConnection, destroy_with<&close_and_destroy>>;
using options_ptr = std::unique_ptr<natsOptions, destroy_with<&natsOptions_Destroy>>;
using js_ptr = std::unique_ptr<jsCtx, destroy_with<&jsCtx_Destroy>>;
using subscription_ptr = std::unique_ptr<natsSubscription, destroy_with<&natsSubscription_Destroy>>;
using msg_ptr = std::unique_ptr<natsMsg, destroy_with<&natsMsg_Destroy>>;
using stream_info_ptr = std::unique_ptr<jsStreamInfo, destroy_with<&jsStreamInfo_Destroy>>;
using consumer_info_ptr = std::unique_ptr<jsConsumerInfo, destroy_with<&jsConsumerInfo_Destroy>>;
using pub_ack_ptr = std::unique_ptr<jsPubAck, destroy_with<&jsPubAck_Destroy>>;
using meta_ptr = std::unique_ptr<jsMsgMetaData, destroy_with<&jsMsgMetaData_Destroy>>;

/// A natsMsgList's messages, destroyed with it.
class msg_list {
public:
    msg_list() noexcept = default;
    msg_list(const msg_list&) = delete;
    msg_list& operator=(const msg_list&) = delete;
    ~msg_list() { natsMsgList_Destroy(&l_); }
    natsMsgList* get() noexcept { return &l_; }
    int size() const noexcept { return l_.Count; }
    /// Takes message i out of the list (the list no longer destroys it).
    msg_ptr take(int i) noexcept {
        msg_ptr m(l_.Msgs[i]);
        l_.Msgs[i] = nullptr;
        return m;
    }

private:
    natsMsgList l_{};
};

// JetStream error codes (nats-server's errors.json) that the mapping below names.
inline constexpr int js_stream_store_failed = 10077;  // "maximum messages/bytes exceeded" with discard new
inline constexpr int js_insufficient_resources = 10023;
inline constexpr int js_stream_not_found = 10059;
inline constexpr int js_consumer_not_found = 10014;
inline constexpr int js_subjects_overlap = 10065;
inline constexpr int js_wrong_last_msg_id = 10070;  // Nats-Expected-Last-Msg-Id is not the stream's last id  // a stream's subjects overlap another stream's

/// The rowcast errc for a cnats status (and JetStream error code when known): connection
/// and time-outs are unavailable (transient), authentication refused, arguments invalid_value.
inline errc errc_of(natsStatus s, int js_code = 0) noexcept {
    if (js_code == js_stream_not_found || js_code == js_consumer_not_found || s == NATS_NOT_FOUND) return errc::not_found;
    if (js_code == js_subjects_overlap) return errc::refused;
    switch (s) {
        case NATS_CONNECTION_AUTH_FAILED:
        case NATS_NOT_PERMITTED: return errc::refused;
        case NATS_INVALID_ARG:
        case NATS_INVALID_SUBJECT:
        case NATS_INVALID_SUBSCRIPTION:
        case NATS_PROTOCOL_ERROR: return errc::invalid_value;
        case NATS_MAX_PAYLOAD:  // an event larger than the server's max_payload (1 MiB by default)
        case NATS_NO_MEMORY: return errc::limit_exceeded;
        default: return errc::unavailable;  // time-outs, lost connections, no responders, server errors
    }
}

/// "[rowcast.nats.<errc>] <where>: <what>: <cnats status text> (<last error text>)".
inline error make_error(natsStatus s, std::string_view where, std::string_view what, int js_code = 0) {
    std::string m(what);
    m += ": ";
    m += natsStatus_GetText(s);
    const char* last = nats_GetLastError(nullptr);
    if (last && *last && std::string_view(last) != natsStatus_GetText(s)) {
        m += " (";
        m += last;
        m += ')';
    }
    if (js_code != 0) m += " [JetStream error " + std::to_string(js_code) + "]";
    return error::make(errc_of(s, js_code), "nats", where, m);
}

/// "[a, b]" of `n` C strings (stream subjects in messages).
inline std::string join(const char* const* v, int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) {
        if (i) s += ", ";
        s += v[i];
    }
    return s + "]";
}

}  // namespace detail::nats
ROWCAST_NAMESPACE_END
