// sys/socket.hpp — sockets: pairs, framed-transfer helpers, descriptor passing, listening.
// Errors are returned as errno values (0: success); nothing here throws. Sends never raise
// SIGPIPE (MSG_NOSIGNAL): a closed peer is EPIPE.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "sys/clock.hpp"
#include "sys/fd.hpp"

namespace mp::sys {

// A connected pair of Unix sockets (SOCK_STREAM, or SOCK_SEQPACKET when `packets`).
int socket_pair(bool packets, UniqueFd& a, UniqueFd& b) noexcept;

// Sends every byte of the buffers, in order.
int send_all(int fd, std::span<const std::byte> first, std::span<const std::byte> second) noexcept;

// Reads exactly out.size() bytes unless the deadline passes (ETIMEDOUT) or the peer closes
// (returns 0 with `got` < out.size()). `got` counts what was read.
int recv_exact(int fd, std::span<std::byte> out, std::size_t& got,
               const Deadline& deadline) noexcept;

// SOCK_SEQPACKET: one message holding `tag` and the descriptor `fd`. Never blocks past
// `deadline`, on a blocking socket or not: while the socket has no room (its peer has not taken
// the messages before) or the kernel's limit on descriptors in flight is reached, it waits for
// room until the deadline, then returns ETIMEDOUT with nothing sent.
int send_fd(int sock, std::uint64_t tag, int fd,
            const Deadline& deadline = Deadline::never()) noexcept;
// Receives (or with `peek`, looks at) the next such message without blocking. EAGAIN: none.
int recv_fd(int sock, bool peek, std::uint64_t& tag, UniqueFd& fd) noexcept;

// Descriptors passed with a stream message (SCM_RIGHTS), as Python's multiprocessing.reduction
// passes them. At most kMaxPassedFds per message: the receiver's control buffer holds no more.
inline constexpr std::size_t kMaxPassedFds = 64;

// Sends every byte of `data`, `fds` attached to its first byte (EINVAL for an empty `data` or
// more than kMaxPassedFds). The kernel duplicates the descriptors into the message: the caller's
// stay its own. A receiver that reads those bytes with plain recv() has the kernel close them.
int send_with_fds(int sock, std::span<const std::byte> data, std::span<const int> fds) noexcept;

// recv_exact, also taking the descriptors that arrive with the bytes (close-on-exec, appended to
// `fds`). `truncated` is set when the sender attached more than kMaxPassedFds: the kernel
// closed the ones that did not fit. Descriptors received before an error stay in `fds`.
int recv_exact_with_fds(int sock, std::span<std::byte> out, std::size_t& got,
                        std::vector<UniqueFd>& fds, bool& truncated,
                        const Deadline& deadline) noexcept;

// Whether `fd` is a socket (what a passed Connection or queue end must be), and whether it is a
// Unix one (only those carry descriptors).
bool is_socket(int fd) noexcept;
bool is_unix_socket(int fd) noexcept;

// Listening and connecting. `address` is a filesystem path or "host:port" (TCP; port 0 picks
// one). `bound` receives the address actually bound, in the same form.
int listen_on(const std::string& address, int backlog, UniqueFd& out, std::string& bound) noexcept;
int connect_to(const std::string& address, UniqueFd& out) noexcept;
int accept_from(int listener, const Deadline& deadline, UniqueFd& out) noexcept;

bool is_tcp_address(const std::string& address) noexcept;

}  // namespace mp::sys
