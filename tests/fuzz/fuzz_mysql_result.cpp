// libFuzzer target for the MySQL client's reply decoder (rowcast/mysql/detail/protocol.hpp), the
// untrusted input of rowcast::mysql::connection and the replication stream's setup queries: the
// input is what a server sends after COM_QUERY (framed packets: 3-byte length, sequence id). It
// is read through a socket pair by the real client, three ways: query() (the whole result,
// bounded), start_query()/next_row() (the row reader), then execute() (which drains what a
// result left: further results of a CALL). Also the packet decoders alone on the raw bytes.
// Invariants: no crash, no unbounded allocation; every row has one cell per column.
#include <rowcast/mysql/detail/protocol.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace {

namespace mp = rowcast::detail::mysql;

// A client connection whose server already sent `reply` and ended its side (it still takes the
// client's commands, unread).
struct piped {
    rowcast::detail::unique_fd server;
    mp::connection c;
};
piped client(std::string_view reply) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    rowcast::detail::unique_fd server(sv[1]);
    for (std::size_t off = 0; off < reply.size();) {
        const ssize_t n = ::write(server.get(), reply.data() + off, reply.size() - off);
        if (n <= 0) std::abort();
        off += static_cast<std::size_t>(n);
    }
    ::shutdown(server.get(), SHUT_WR);  // the client's commands still fit in the socket buffer
    auto c = mp::connection::adopt(rowcast::detail::unique_fd(sv[0]), "fuzz", std::chrono::milliseconds(1000));
    c.set_classify_server_errors(true);
    c.set_max_message(std::size_t{1} << 20);
    c.set_result_limits(1000, std::size_t{1} << 20);
    return {std::move(server), std::move(c)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 64 * 1024));
    // The decoders alone.
    (void)mp::parse_column(in);
    (void)mp::parse_ok(in);
    (void)mp::parse_err(in);
    std::vector<std::optional<std::string_view>> cells;
    if (!in.empty() && mp::decode_row(in.substr(1), static_cast<unsigned char>(in[0]) % 8, cells) &&
        cells.size() != static_cast<unsigned char>(in[0]) % 8u)
        std::abort();
    // The whole result.
    {
        auto [server, c] = client(in);
        if (auto rs = c.query("SELECT 1")) {
            for (const auto& row : rs->rows)
                if (row.size() != rs->columns.size()) std::abort();
        }
    }
    // Row by row, then a next command.
    {
        auto [server, c] = client(in);
        std::vector<mp::column> cols;
        mp::ok_result ok;
        if (c.start_query("SELECT 1", cols, ok)) {
            for (int i = 0; i < 2000; ++i) {
                auto more = c.next_row(cells, &ok);
                if (!more || !*more) break;
                if (cells.size() != cols.size()) std::abort();
            }
            (void)c.execute("DO 1");
        }
    }
    return 0;
}
