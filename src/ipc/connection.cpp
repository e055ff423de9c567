// ipc/connection.cpp — Connection and Pipe over Unix sockets (framing in runtime/framing).
#include "mp/connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>

#include "mp/detail/archive.hpp"
#include "mp/process.hpp"
#include "runtime/framing.hpp"
#include "sys/futex.hpp"
#include "sys/memory.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"

namespace mp {

struct Connection::State {
  sys::UniqueFd fd;
  bool readable = true;
  bool writable = true;
  std::uint64_t max_size = runtime::kUnlimited;
  // Set when a receive stopped part-way through a message (one over the size limit, or a
  // failure mid-read): where the next message starts is unknown, so nothing more is received.
  std::string out_of_step;

  void check_readable() const {
    if (readable) return;
    if (!out_of_step.empty()) throw ProtocolError(out_of_step);
    throw ValueError("connection is write-only");
  }
};

Connection::State& Connection::state() const {
  if (!state_ || !state_->fd) throw ValueError("connection is closed");
  return *state_;
}

Connection Connection::from_fd(int fd, bool readable, bool writable) {
  Connection c;
  c.state_ = std::make_shared<State>();
  c.state_->fd.reset(fd);
  c.state_->readable = readable;
  c.state_->writable = writable;
  return c;
}

void Connection::send_bytes(std::span<const std::byte> data) {
  State& s = state();
  if (!s.writable) throw ValueError("connection is read-only");
  runtime::write_frame(s.fd.get(), data);
}

void Connection::send_message(std::span<const std::byte> data, std::span<const int> fds) {
  State& s = state();
  if (!s.writable) throw ValueError("connection is read-only");
  runtime::write_frame(s.fd.get(), data, fds);
}

void Connection::save(detail::OutputArchive& ar) const {
  const bool open = !closed();
  ar(open);
  if (!open) return;
  const std::uint32_t index = detail::pass_fd(state_->fd.get(), "mp::Connection");
  ar(index, state_->readable, state_->writable);
}

void Connection::load(detail::InputArchive& ar) {
  bool open = false;
  ar(open);
  if (!open) {
    state_.reset();
    return;
  }
  std::uint32_t index = 0;
  bool readable = false, writable = false;
  ar(index, readable, writable);
  *this = from_fd(detail::take_socket(index), readable, writable);
}

namespace {

// Before sleeping in recv, check for a few microseconds whether the message is already on its
// way: a reply from a process running on another CPU usually is, and catching it awake saves
// the scheduler's wake-up, the largest part of a round trip. Bounded, so an idle receiver
// sleeps almost at once. It pauses between looks and never yields: on a busy machine one
// sched_yield hands the CPU to another program for a whole time slice (milliseconds), while a
// sleeper is woken ahead of programs that kept running.
constexpr std::chrono::nanoseconds kSpinFor = std::chrono::microseconds(30);

bool spin_until_readable(int fd, std::chrono::nanoseconds limit = kSpinFor) {
  const auto until = std::chrono::steady_clock::now() + limit;
  do {
    std::byte probe;
    if (::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) >= 0) return true;  // data or EOF
    if (errno != EAGAIN && errno != EINTR) return true;
    for (int i = 0; i < 32; ++i) sys::cpu_relax();
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

}  // namespace

// A large message for recv<T>: private memory grown as its bytes arrive, without copying them
// (mremap), which decoding gives back as it reads.
struct detail::ReceivedMessage::Large final : detail::EncodeSink {
  sys::Mapping memory;
  std::size_t size = 0;

  ~Large() { sys::unmap(memory); }
  std::span<std::byte> grow(std::size_t used, std::size_t need) override {
    const std::size_t want = std::max(need, 2 * used);
    const int err = memory.addr == nullptr ? sys::map_private(want, memory)
                                           : sys::resize_anonymous(memory, want);
    if (err != 0) throw std::system_error(err, std::generic_category(), "recv: a large message");
    return {static_cast<std::byte*>(memory.addr), memory.size};
  }
  void finish(std::size_t used) noexcept override { size = used; }
};

detail::ReceivedMessage::ReceivedMessage() = default;
detail::ReceivedMessage::~ReceivedMessage() = default;

std::span<const std::byte> detail::ReceivedMessage::bytes() const noexcept {
  if (large) return {static_cast<const std::byte*>(large->memory.addr), large->size};
  return small;
}

namespace {
// A message this large is received by recv<T> into memory of its own (ReceivedMessage): decoding
// gives it back a run of this size at a time, so a smaller one would gain nothing.
constexpr std::uint64_t kLargeMessage = detail::InputArchive::kReleaseStep;

// Where recv<T> puts a large message: a ReceivedMessage::Large, made when one comes (most
// messages are small: no allocation for them).
class LargeOnDemand final : public detail::EncodeSink {
 public:
  explicit LargeOnDemand(std::unique_ptr<detail::ReceivedMessage::Large>& large) : large_(large) {}
  std::span<std::byte> grow(std::size_t used, std::size_t need) override {
    if (!large_) large_ = std::make_unique<detail::ReceivedMessage::Large>();
    return large_->grow(used, need);
  }
  void finish(std::size_t used) noexcept override {
    if (large_) large_->finish(used);
  }

 private:
  std::unique_ptr<detail::ReceivedMessage::Large>& large_;
};
}  // namespace

std::vector<std::byte> Connection::recv_bytes() {
  return recv_message(nullptr);
}

std::vector<std::byte> Connection::recv_message(detail::ReceivedFds* fds) {
  std::vector<std::byte> out;
  receive_frame(out, nullptr, fds);
  return out;
}

void Connection::receive(detail::ReceivedMessage& message, detail::ReceivedFds* fds) {
  LargeOnDemand large(message.large);
  receive_frame(message.small, &large, fds);
}

void Connection::receive_frame(std::vector<std::byte>& small, detail::EncodeSink* large,
                               detail::ReceivedFds* fds) {
  State& s = state();
  s.check_readable();
  spin_until_readable(s.fd.get());
  std::vector<sys::UniqueFd> received;
  auto status = runtime::FrameStatus::eof;
  try {
    auto* got = fds != nullptr ? &received : nullptr;
    status = large != nullptr
                 ? runtime::read_frame(s.fd.get(), small, *large, kLargeMessage, s.max_size,
                                       sys::Deadline::never(), got)
                 : runtime::read_frame(s.fd.get(), small, s.max_size, sys::Deadline::never(), got);
  } catch (const EOFError&) {
    throw;  // the stream is over: later receives see EOF, nothing is out of step
  } catch (const ProtocolError&) {
    // The oversized payload is still in the stream, unread. Stop receiving (as Python does)
    // rather than read it as messages.
    s.readable = false;
    s.out_of_step = "connection can no longer receive: an earlier message exceeded the size limit";
    throw;
  } catch (...) {
    s.readable = false;
    s.out_of_step = "connection can no longer receive: an earlier receive failed mid-message";
    throw;
  }
  if (status == runtime::FrameStatus::bad_descriptors) {
    throw ProtocolError(
        "a message announced descriptors that did not come, or too many came (message dropped, "
        "descriptors closed)");
  }
  if (status != runtime::FrameStatus::ok) {
    throw EOFError("the other end of the connection is closed");
  }
  if (fds != nullptr) {
    for (auto& fd : received) fds->adopt(fd.release());
  }
}

std::size_t Connection::recv_bytes_into(std::span<std::byte> buffer) {
  auto message = recv_bytes();
  if (message.size() > buffer.size()) {
    std::string what = "buffer of " + std::to_string(buffer.size()) +
                       " bytes is too short for a message of " + std::to_string(message.size());
    throw BufferTooShort(what, std::move(message));
  }
  if (!message.empty()) std::memcpy(buffer.data(), message.data(), message.size());
  return message.size();
}

bool Connection::poll_for(std::chrono::nanoseconds timeout) {
  State& s = state();
  s.check_readable();
  const auto deadline = sys::Deadline::after(timeout);
  // A caller waiting for a reply (a manager's call) gets recv()'s head start too.
  if (timeout > std::chrono::nanoseconds::zero() &&
      spin_until_readable(s.fd.get(), std::min(timeout, kSpinFor))) {
    return true;
  }
  return sys::wait_readable(s.fd.get(), deadline);
}

void Connection::close() noexcept {
  if (state_) state_->fd.reset();
}
bool Connection::closed() const noexcept {
  return !state_ || !state_->fd;
}
bool Connection::readable() const noexcept {
  return state_ && state_->readable;
}
bool Connection::writable() const noexcept {
  return state_ && state_->writable;
}
int Connection::fileno() const {
  return state().fd.get();
}
void Connection::set_max_message_size(std::uint64_t bytes) {
  state().max_size = bytes;
}

std::pair<Connection, Connection> Pipe(bool duplex) {
  sys::UniqueFd a, b;
  if (int err = sys::socket_pair(false, a, b); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  if (duplex) return {Connection::from_fd(a.release()), Connection::from_fd(b.release())};
  // One-way, as Python's Pipe(False): the first end only receives, the second only sends.
  ::shutdown(a.get(), SHUT_WR);
  ::shutdown(b.get(), SHUT_RD);
  return {Connection::from_fd(a.release(), true, false),
          Connection::from_fd(b.release(), false, true)};
}

}  // namespace mp
