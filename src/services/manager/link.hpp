// services/manager/link.hpp — one call connection between a manager's client and its server:
// the socket and, when both ends are on one machine, a shared-memory mailbox beside it.
//
// A connection carries one request, then its reply, then the next request. Over a socket alone
// each message costs a send and a receive system call and, when its receiver sleeps, a
// scheduler wake-up: several microseconds each on a virtual machine, paid twice per call. With
// a mailbox (a shared page per direction) the sender copies a message in and counts it, and a
// receiver that is awake sees it without a system call. The socket stays beside it:
// - a receiver about to sleep raises its flag and sleeps in poll() on the socket; a sender that
//   sees the flag rings with an empty frame (the doorbell);
// - a message larger than the mailbox is counted in the mailbox and travels as a frame;
// - the socket's end still says that the other side is gone (EOF): a dead client's connection
//   ends, and a dead server fails its calls, as they did without a mailbox.
// The client offers a mailbox right after the handshake (Op::mailbox, the memfd passed over the
// socket), on Unix sockets only: a TCP peer may be on another machine.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "mp/connection.hpp"
#include "sys/clock.hpp"
#include "sys/fd.hpp"

namespace mp::detail::manager {

struct Mailbox;

// How long a side looks for the next message awake before it sleeps: `spin`, while spinning
// pays. A spin that catches nothing (the peer is busy elsewhere, or has no CPU to answer on)
// stops spinning for the next waits, twice as many after each miss, so that a side that keeps
// missing gives its CPU to the processes that have work instead.
class SpinBudget {
 public:
  explicit constexpr SpinBudget(std::chrono::nanoseconds spin) : spin_(spin) {}

  std::chrono::nanoseconds next() noexcept {
    if (skips_ > 0) {
      --skips_;
      return {};
    }
    spun_ = true;
    return spin_;
  }
  std::chrono::nanoseconds spin() const noexcept { return spin_; }
  // The wait after next() says nothing about the peer (it waited on something else).
  void forget() noexcept { spun_ = false; }
  // Whether the spin after next() caught the message.
  void record(bool caught) noexcept {
    if (!std::exchange(spun_, false)) return;
    backoff_ = caught ? 0 : std::min(kMaxSkips, backoff_ * 2 + 1);
    skips_ = backoff_;
  }

 private:
  static constexpr int kMaxSkips = 64;
  std::chrono::nanoseconds spin_;
  int skips_ = 0;
  int backoff_ = 0;
  bool spun_ = false;
};

class Link {
 public:
  Link() = default;
  explicit Link(Connection c) : connection_(std::move(c)) {}

  // The client's side: offers a mailbox to the server; false (the socket alone) when the server
  // declines. Throws like a call when the server does not answer within `timeout`.
  bool offer_mailbox(std::chrono::nanoseconds timeout);
  // The server's side: maps the mailbox a client offered (the memfd it passed; throws when it
  // is not one), then, once the offer's reply has gone on the socket, uses it.
  static std::shared_ptr<Mailbox> map_mailbox(sys::UniqueFd memfd);
  void use_mailbox(std::shared_ptr<Mailbox> box);

  // Throws std::system_error (EPIPE: the peer is gone).
  void send(std::span<const std::byte> message);
  // Until a message is there, or EOF: true; false after `timeout` (negative: no limit). Looks
  // for `spin` first without sleeping.
  bool wait(std::chrono::nanoseconds timeout, std::chrono::nanoseconds spin);
  // The next message; throws EOFError when the peer is gone, TimeoutError when a message
  // announced on the socket is not all there by `deadline`. Descriptors that came with a message
  // on the socket go to `fds` when given, else are closed.
  std::vector<std::byte> recv(const sys::Deadline& deadline = sys::Deadline::never(),
                              std::vector<sys::UniqueFd>* fds = nullptr);
  // Without waiting: whether the peer has closed its end.
  bool peer_gone() const;
  // Whether the peer has copied out every message sent to it (through a mailbox a message is
  // sent whether or not the peer is still there to take it).
  bool delivered() const noexcept;

  bool has_mailbox() const noexcept { return box_ != nullptr; }
  // For the owner's waits on this connection (what it learned about its peer).
  SpinBudget& spin_budget() noexcept { return spin_; }
  int fileno() const { return connection_.fileno(); }
  bool closed() const noexcept { return connection_.closed(); }
  void close() noexcept { connection_.close(); }

 private:
  bool message_waiting() const noexcept;

  Connection connection_;
  std::shared_ptr<Mailbox> box_;  // null: the socket alone
  bool server_ = false;           // which direction this end receives
  std::uint32_t received_ = 0;    // messages taken from the mailbox's count so far
  bool at_eof_ = false;           // the socket ended (mailbox links)
  SpinBudget spin_{std::chrono::microseconds(30)};
};

}  // namespace mp::detail::manager
