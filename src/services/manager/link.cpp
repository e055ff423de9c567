#include "services/manager/link.hpp"

#include <poll.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <system_error>

#include "mp/codec.hpp"
#include "mp/detail/manager_protocol.hpp"
#include "mp/errors.hpp"
#include "runtime/framing.hpp"
#include "runtime/outcome.hpp"
#include "sys/clock.hpp"
#include "sys/futex.hpp"
#include "sys/memory.hpp"
#include "sys/poll.hpp"

namespace mp::detail::manager {

namespace {

// Per direction. Requests and replies of the usual calls are tens of bytes; a larger message
// (a long list's items) goes on the socket.
constexpr std::size_t kLaneBytes = std::size_t{32} << 10;
constexpr std::uint32_t kOnSocket = std::numeric_limits<std::uint32_t>::max();

// One direction's counters: the sender's line, then the receiver's.
struct Lane {
  alignas(64) std::atomic<std::uint32_t> posted;    // messages sent this way
  std::atomic<std::uint32_t> length;                // of the last one, or kOnSocket
  alignas(64) std::atomic<std::uint32_t> sleeping;  // the receiver sleeps in poll()
  std::atomic<std::uint32_t> taken;                 // messages the receiver has copied out
};

enum Direction { kToServer = 0, kToClient = 1 };

constexpr std::size_t kLanesBytes = 256;
static_assert(2 * sizeof(Lane) <= kLanesBytes);
constexpr std::size_t kMailboxBytes = kLanesBytes + 2 * kLaneBytes;

}  // namespace

struct Mailbox {
  sys::Mapping mapping;

  explicit Mailbox(sys::Mapping m) : mapping(std::move(m)) {}
  ~Mailbox() { sys::unmap(mapping); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  Lane& lane(int direction) { return static_cast<Lane*>(mapping.addr)[direction]; }
  std::byte* data(int direction) {
    return static_cast<std::byte*>(mapping.addr) + kLanesBytes + direction * kLaneBytes;
  }
};

bool Link::offer_mailbox(std::chrono::nanoseconds timeout) {
  sys::Mapping m;
  // Sealed: the server maps it, and must not fault on memory a client could shrink.
  if (sys::map_sealed(kMailboxBytes, m) != 0) return false;  // the socket will do
  auto box = std::make_shared<Mailbox>(std::move(m));        // unmapped if the offer fails
  Request offer;
  offer.op = Op::mailbox;
  const int memfd = box->mapping.fd.get();
  runtime::write_frame(fileno(), encode(offer), std::span<const int>(&memfd, 1));
  box->mapping.fd.reset();
  if (!connection_.poll(timeout)) {
    throw TimeoutError("the manager did not answer within " +
                       std::to_string(timeout.count() / 1000000) + " ms");
  }
  runtime::Outcome outcome = runtime::read_outcome(connection_.recv_bytes());
  if (outcome.error) return false;
  box_ = std::move(box);
  server_ = false;
  return true;
}

std::shared_ptr<Mailbox> Link::map_mailbox(sys::UniqueFd memfd) {
  if (sys::check_sealed(memfd.get()) != 0) {
    throw ProtocolError("a client's mailbox must be a memfd sealed against shrinking");
  }
  sys::Mapping m;
  if (int err = sys::map_passed(memfd.get(), m); err != 0) {
    throw std::system_error(err, std::generic_category(), "mapping a client's mailbox");
  }
  auto box = std::make_shared<Mailbox>(std::move(m));
  box->mapping.fd.reset();
  if (box->mapping.size != kMailboxBytes) {
    throw ProtocolError("a client's mailbox has the wrong size");
  }
  return box;
}

void Link::use_mailbox(std::shared_ptr<Mailbox> box) {
  box_ = std::move(box);
  server_ = true;
}

bool Link::message_waiting() const noexcept {
  return box_->lane(server_ ? kToServer : kToClient).posted.load(std::memory_order_acquire) !=
         received_;
}

void Link::send(std::span<const std::byte> message) {
  if (!box_) {
    connection_.send_bytes(message);
    return;
  }
  const int direction = server_ ? kToClient : kToServer;
  Lane& lane = box_->lane(direction);
  const std::uint32_t count = lane.posted.load(std::memory_order_relaxed) + 1;
  if (message.size() > kLaneBytes) {
    // Counted first: a receiver that sees the count reads the frame, however it was woken.
    lane.length.store(kOnSocket, std::memory_order_relaxed);
    lane.posted.store(count, std::memory_order_release);
    // Seen before the frame is, by a receiver that the frame wakes (a system call is not a fence
    // on every architecture).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    runtime::write_frame(fileno(), message);
    return;
  }
  if (!message.empty()) std::memcpy(box_->data(direction), message.data(), message.size());
  lane.length.store(static_cast<std::uint32_t>(message.size()), std::memory_order_relaxed);
  lane.posted.store(count, std::memory_order_release);
  // Against the receiver's flag-then-look (wait): one of the two sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (lane.sleeping.load(std::memory_order_relaxed) != 0) runtime::write_frame(fileno(), {});
}

bool Link::wait(std::chrono::nanoseconds timeout, std::chrono::nanoseconds spin) {
  const bool forever = timeout < std::chrono::nanoseconds::zero();
  if (!box_) {
    if (spin > std::chrono::nanoseconds::zero()) {
      return connection_.poll(forever ? std::chrono::hours(24 * 365 * 100) : timeout);
    }
    return sys::wait_readable(fileno(),
                              forever ? sys::Deadline::never() : sys::Deadline::after(timeout));
  }
  if (at_eof_ || message_waiting()) return true;
  const sys::Deadline deadline = forever ? sys::Deadline::never() : sys::Deadline::after(timeout);
  if (spin > std::chrono::nanoseconds::zero()) {
    const sys::Deadline until = deadline.capped(spin);
    do {
      for (int i = 0; i < 64; ++i) sys::cpu_relax();
      if (message_waiting()) return true;
    } while (!until.passed());
  }
  Lane& lane = box_->lane(server_ ? kToServer : kToClient);
  for (;;) {
    lane.sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (message_waiting()) {
      lane.sleeping.store(0, std::memory_order_relaxed);
      return true;
    }
    const bool readable = sys::wait_readable(fileno(), deadline);
    lane.sleeping.store(0, std::memory_order_relaxed);
    if (message_waiting()) return true;
    if (!readable) return false;
    // Nothing counted, so the socket holds a doorbell rung for an earlier message, or its end.
    std::vector<std::byte> frame;
    if (runtime::read_frame(fileno(), frame, 0, deadline) != runtime::FrameStatus::ok) {
      at_eof_ = true;
      return true;
    }
  }
}

std::vector<std::byte> Link::recv(const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds) {
  std::vector<std::byte> out;
  if (box_ && !at_eof_ && !message_waiting()) wait(std::chrono::nanoseconds(-1), {});
  const int direction = server_ ? kToServer : kToClient;
  bool on_socket = !box_;
  if (box_ && !at_eof_) {
    const std::uint32_t length = box_->lane(direction).length.load(std::memory_order_relaxed);
    ++received_;
    if (length == kOnSocket) {
      on_socket = true;
    } else {
      if (length > kLaneBytes) throw ProtocolError("a mailbox message longer than the mailbox");
      const std::byte* data = box_->data(direction);
      out.assign(data, data + length);
    }
  }
  if (at_eof_) throw EOFError("the other end of the connection is closed");
  // On the socket: the message itself, after any doorbells rung before it.
  while (on_socket) {
    const auto status = runtime::read_frame(fileno(), out, runtime::kUnlimited, deadline, fds);
    if (status == runtime::FrameStatus::timed_out) {
      throw TimeoutError("a message's bytes did not all come in time");
    }
    if (status == runtime::FrameStatus::bad_descriptors) {
      throw ProtocolError("a message announced descriptors that did not come");
    }
    if (status != runtime::FrameStatus::ok) {
      at_eof_ = true;
      throw EOFError("the other end of the connection is closed");
    }
    on_socket = box_ && out.empty();
  }
  // Before this side can close its end: the sender learns that the message got here.
  if (box_) box_->lane(direction).taken.store(received_, std::memory_order_release);
  return out;
}

bool Link::delivered() const noexcept {
  if (!box_) return true;
  const Lane& lane = box_->lane(server_ ? kToClient : kToServer);
  return lane.taken.load(std::memory_order_acquire) == lane.posted.load(std::memory_order_relaxed);
}

bool Link::peer_gone() const {
  pollfd p{fileno(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace mp::detail::manager
