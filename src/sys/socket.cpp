#include "sys/socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sys/poll.hpp"

namespace mp::sys {

int socket_pair(bool packets, UniqueFd& a, UniqueFd& b) noexcept {
  int fds[2];
  if (::socketpair(AF_UNIX, (packets ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, fds) != 0) {
    return errno;
  }
  a.reset(fds[0]);
  b.reset(fds[1]);
  return 0;
}

int send_all(int fd, std::span<const std::byte> first, std::span<const std::byte> second) noexcept {
  iovec iov[2] = {{const_cast<std::byte*>(first.data()), first.size()},
                  {const_cast<std::byte*>(second.data()), second.size()}};
  int n = 2;
  iovec* v = iov;
  for (;;) {
    // Nothing left is nothing to send: a zero-length sendmsg would still fail with EPIPE once
    // the peer, having read every byte, has closed.
    while (n > 0 && v->iov_len == 0) {
      ++v;
      --n;
    }
    if (n == 0) break;
    msghdr msg{};
    msg.msg_iov = v;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {  // a non-blocking socket: wait until writable
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return errno;
    }
    auto left = static_cast<std::size_t>(sent);
    while (n > 0 && left >= v->iov_len) {
      left -= v->iov_len;
      ++v;
      --n;
    }
    if (n > 0) {
      v->iov_base = static_cast<char*>(v->iov_base) + left;
      v->iov_len -= left;
    }
  }
  return 0;
}

int recv_exact(int fd, std::span<std::byte> out, std::size_t& got,
               const Deadline& deadline) noexcept {
  got = 0;
  while (got < out.size()) {
    if (!deadline.is_never() && !wait_readable(fd, deadline)) return ETIMEDOUT;
    ssize_t n = ::recv(fd, out.data() + got, out.size() - got, 0);
    if (n == 0) return 0;  // EOF
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    got += static_cast<std::size_t>(n);
  }
  return 0;
}

int send_with_fds(int sock, std::span<const std::byte> data, std::span<const int> fds) noexcept {
  if (fds.size() > kMaxPassedFds || data.empty()) return EINVAL;
  iovec iov{const_cast<std::byte*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  // The descriptors go with the first sendmsg that sends anything; the rest, if the socket took
  // only part of the bytes, follows as plain data.
  ssize_t sent;
  for (;;) {
    sent = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (sent >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {  // a non-blocking socket: wait until writable
      pollfd p{sock, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    return errno;
  }
  return send_all(sock, data.subspan(static_cast<std::size_t>(sent)), {});
}

int recv_exact_with_fds(int sock, std::span<std::byte> out, std::size_t& got,
                        std::vector<UniqueFd>& fds, bool& truncated,
                        const Deadline& deadline) noexcept {
  got = 0;
  while (got < out.size()) {
    if (!deadline.is_never() && !wait_readable(sock, deadline)) return ETIMEDOUT;
    iovec iov{out.data() + got, out.size() - got};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    if ((msg.msg_flags & MSG_CTRUNC) != 0) truncated = true;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        // push_back may throw (no memory): close the descriptor rather than leak it.
        try {
          fds.emplace_back(fd);
        } catch (...) {
          ::close(fd);
          truncated = true;
        }
      }
    }
    if (n == 0) return 0;  // EOF
    got += static_cast<std::size_t>(n);
  }
  return 0;
}

bool is_socket(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

bool is_unix_socket(int fd) noexcept {
  int domain = 0;
  socklen_t len = sizeof domain;
  return ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

namespace {

// One tag and room for one descriptor: the message send_fd and recv_fd exchange.
struct FdMessage {
  iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};

  explicit FdMessage(std::uint64_t& tag) : iov{&tag, sizeof tag} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
};

}  // namespace

int send_fd(int sock, std::uint64_t tag, int fd, const Deadline& deadline) noexcept {
  FdMessage m(tag);
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  // Each wait is short: a Unix socket polls writable only once three quarters of its buffer are
  // free again, while a send fits as soon as one message's worth is, and ETOOMANYREFS (the
  // sender's descriptors in flight exceed its RLIMIT_NOFILE) has nothing to poll for.
  constexpr auto kLook = std::chrono::milliseconds(5);
  for (;;) {
    if (::sendmsg(sock, &m.msg, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) return 0;
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != ENOBUFS && err != ETOOMANYREFS) return err;
    if (deadline.passed()) return ETIMEDOUT;
    pollfd p{sock, err == ETOOMANYREFS ? short{0} : short{POLLOUT}, 0};
    if (int rc = poll_until(&p, 1, deadline.capped(kLook)); rc < 0) return -rc;
  }
}

int recv_fd(int sock, bool peek, std::uint64_t& tag, UniqueFd& fd) noexcept {
  FdMessage m(tag);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (peek ? MSG_PEEK : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (n == 0) return EPIPE;
  fd.reset();
  for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg); c != nullptr; c = CMSG_NXTHDR(&m.msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(c), sizeof received);
      fd.reset(received);
    }
  }
  if (n != sizeof tag || !fd) return EPROTO;
  return 0;
}

bool is_tcp_address(const std::string& address) noexcept {
  return address.find('/') == std::string::npos && address.rfind(':') != std::string::npos;
}

namespace {

// The socket address for a path or "host:port", in one structure for both families.
int resolve(const std::string& address, sockaddr_storage& sa, socklen_t& len) {
  sa = sockaddr_storage{};
  if (!is_tcp_address(address)) {
    auto* un = reinterpret_cast<sockaddr_un*>(&sa);
    if (address.empty() || address.size() >= sizeof un->sun_path) return ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, address.data(), address.size());
    len = sizeof(sockaddr_un);
    return 0;
  }
  auto colon = address.rfind(':');
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 ||
      !res) {
    return EINVAL;
  }
  std::memcpy(&sa, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return 0;
}

std::string describe_tcp(const sockaddr_storage& sa) {
  char host[INET6_ADDRSTRLEN] = {};
  char text[INET6_ADDRSTRLEN + 16];
  if (sa.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    std::snprintf(text, sizeof text, "%s:%d", host, ntohs(in->sin_port));
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    std::snprintf(text, sizeof text, "[%s]:%d", host, ntohs(in6->sin6_port));
  }
  return text;
}

}  // namespace

int listen_on(const std::string& address, int backlog, UniqueFd& out, std::string& bound) noexcept {
  sockaddr_storage sa;
  socklen_t len = 0;
  if (int err = resolve(address, sa, len)) return err;
  const bool tcp = sa.ss_family != AF_UNIX;
  UniqueFd fd(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  if (tcp) {
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) return errno;
  // Only the owner may connect to a Unix socket: the authkey is the second line of defence.
  if ((!tcp && ::chmod(address.c_str(), 0600) != 0) || ::listen(fd.get(), backlog) != 0) {
    int err = errno;
    if (!tcp) ::unlink(address.c_str());
    return err;
  }
  if (tcp) {
    sockaddr_storage actual{};
    socklen_t alen = sizeof actual;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&actual), &alen);
    bound = describe_tcp(actual);  // port 0 becomes the port the kernel picked
  } else {
    bound = address;
  }
  out = std::move(fd);
  return 0;
}

int connect_to(const std::string& address, UniqueFd& out) noexcept {
  sockaddr_storage sa;
  socklen_t len = 0;
  if (int err = resolve(address, sa, len)) return err;
  UniqueFd fd(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) return errno;
  if (sa.ss_family != AF_UNIX) {
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  out = std::move(fd);
  return 0;
}

int accept_from(int listener, const Deadline& deadline, UniqueFd& out) noexcept {
  for (;;) {
    if (!deadline.is_never() && !wait_readable(listener, deadline)) return ETIMEDOUT;
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof one);  // fails harmlessly on Unix sockets
      out.reset(fd);
      return 0;
    }
    if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
    return errno;
  }
}

}  // namespace mp::sys
