// ipc/listener.cpp — Listener and Client: sockets plus the handshake of runtime/auth.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>

#include "ipc/listener_internals.hpp"
#include "mp/connection.hpp"
#include "runtime/auth.hpp"
#include "sys/socket.hpp"

namespace mp {

namespace {
std::span<const std::byte> key_bytes(AuthKey key) {
  return {reinterpret_cast<const std::byte*>(key.data()), key.size()};
}
}  // namespace

struct Listener::State {
  sys::UniqueFd fd;
  std::string address;
  std::string authkey;
  bool unix_socket = false;
  int owner_pid = 0;
  std::chrono::milliseconds handshake_timeout{5000};
  std::atomic<std::size_t> rejected{0};

  ~State() { close(); }
  void close() noexcept {
    if (!fd) return;
    fd.reset();
    // The socket file belongs to the process that bound it, not to forked copies.
    if (unix_socket && owner_pid == ::getpid()) ::unlink(address.c_str());
  }
};

Listener::Listener(const std::string& address, AuthKey authkey, int backlog)
    : state_(std::make_unique<State>()) {
  if (int err = sys::listen_on(address, backlog, state_->fd, state_->address); err != 0) {
    throw std::system_error(err, std::generic_category(), "listen on " + address);
  }
  state_->authkey = std::string(authkey);
  state_->unix_socket = !sys::is_tcp_address(address);
  state_->owner_pid = ::getpid();
}

Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&&) noexcept = default;
Listener::~Listener() = default;

Connection Listener::accept() {
  return accept_for(std::nullopt);
}

Connection Listener::accept_for(std::optional<std::chrono::nanoseconds> timeout) {
  const int fd = detail::ListenerInternals::accept_unauthenticated(*this, timeout);
  try {
    return detail::ListenerInternals::handshake_of(*this)(fd);
  } catch (const AuthenticationError&) {
    state_->rejected.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
}

namespace detail {

int ListenerInternals::accept_unauthenticated(Listener& l,
                                              std::optional<std::chrono::nanoseconds> timeout) {
  if (!l.state_ || !l.state_->fd) throw ValueError("listener is closed");
  sys::UniqueFd fd;
  int err = sys::accept_from(l.state_->fd.get(), sys::Deadline::after(timeout), fd);
  if (err == ETIMEDOUT) throw TimeoutError("no connection arrived in time");
  if (err != 0) throw std::system_error(err, std::generic_category(), "accept");
  return fd.release();
}

ListenerInternals::Handshake ListenerInternals::handshake_of(const Listener& l) {
  if (!l.state_) throw ValueError("listener is closed");
  return {l.state_->authkey, l.state_->handshake_timeout};
}

// Any failure of the handshake closes the connection and raises AuthenticationError, as Python's
// accept() does; the listener itself is untouched and serves the next accept().
Connection ListenerInternals::Handshake::operator()(int raw) const {
  sys::UniqueFd fd(raw);
  if (authkey.empty()) return Connection::from_fd(fd.release());
  const auto ms = timeout.count();
  try {
    auto hs = sys::Deadline::after(std::chrono::nanoseconds(timeout));
    runtime::deliver_challenge(fd.get(), key_bytes(authkey), hs);
    runtime::answer_challenge(fd.get(), key_bytes(authkey), hs);
  } catch (const TimeoutError&) {
    throw AuthenticationError("authentication timed out: the peer took over " + std::to_string(ms) +
                              " ms");
  } catch (const EOFError&) {
    throw AuthenticationError("the peer closed the connection during authentication");
  } catch (const ProtocolError& e) {
    throw AuthenticationError(std::string("malformed authentication message: ") + e.what());
  } catch (const std::system_error& e) {
    if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
    throw AuthenticationError("the peer closed the connection during authentication");
  }
  return Connection::from_fd(fd.release());
}

}  // namespace detail

const std::string& Listener::address() const noexcept {
  return state_->address;
}
void Listener::close() noexcept {
  if (state_) state_->close();
}
int Listener::fileno() const {
  if (!state_ || !state_->fd) throw ValueError("listener is closed");
  return state_->fd.get();
}
void Listener::set_handshake_timeout(std::chrono::milliseconds timeout) noexcept {
  state_->handshake_timeout = timeout;
}
std::size_t Listener::rejected() const noexcept {
  return state_->rejected.load();
}

Connection Client(const std::string& address, AuthKey authkey) {
  sys::UniqueFd fd;
  if (int err = sys::connect_to(address, fd); err != 0) {
    throw std::system_error(err, std::generic_category(), "connect to " + address);
  }
  if (!authkey.empty()) {
    auto deadline = sys::Deadline::after(std::chrono::nanoseconds(std::chrono::seconds(30)));
    try {
      runtime::answer_challenge(fd.get(), key_bytes(authkey), deadline);
      runtime::deliver_challenge(fd.get(), key_bytes(authkey), deadline);
    } catch (const EOFError&) {
      // The server hangs up on a wrong answer before we read its verdict.
      throw AuthenticationError("the server closed the connection during authentication");
    } catch (const std::system_error& e) {
      if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
      throw AuthenticationError("the server closed the connection during authentication");
    }
  }
  return Connection::from_fd(fd.release());
}

}  // namespace mp
