// mp/connection.hpp — message channels between two processes, as Python's
// multiprocessing.connection: Pipe, Connection, Listener, Client, wait.
//
//   auto [parent, child] = mp::Pipe();
//   mp::Process p([c = child]() mutable { c.send(std::string("hi")); });
//   p.start();
//   std::string s = parent.recv<std::string>();    // ProtocolError if the message is not a string
//
//   mp::Listener server("127.0.0.1:0", "secret");   // or a filesystem path (Unix socket)
//   mp::Connection c = mp::Client(server.address(), "secret");
//
// A Connection is a handle (copies share the socket); close() closes it for every copy in this
// process. Messages are values through the codec (send/recv) or raw bytes (send_bytes/
// recv_bytes), of any size. recv on a connection whose peer has closed throws EOFError; sending to
// a closed peer throws std::system_error (EPIPE) and never raises SIGPIPE.
//
// Shared objects travel too: `c.send(std::tuple{value, lock, queue, other_connection})` passes
// their descriptors with SCM_RIGHTS (as Python's multiprocessing.reduction does), and the
// receiver's recv<T> rebuilds handles to the same objects, in any process, not only in children
// that inherited them. Only over Unix sockets (a Pipe, a Listener on a path): over TCP, and
// beyond 64 descriptors per message, send throws ValueError, sending nothing. A message without
// shared objects travels exactly as before. recv_bytes of a message that carried descriptors
// closes them. A Connection itself can be sent (its socket is duplicated into the receiver).
//
// Differences from Python: recv<T> names the type it expects and checks it; there is no pickle
// and nothing runs on receipt. Listener and Client authenticate with HMAC-SHA256 (Python uses
// HMAC-MD5 or SHA256 by version); an mp peer talks to mp peers only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "mp/errors.hpp"

namespace mp {

class Process;
namespace detail {
struct ListenerInternals;  // src/ipc/listener_internals.hpp

// A message as recv<T> receives it: in `small`, or, when large, in memory of its own (`large`),
// which decoding gives back as it reads, so that the message is not held twice.
struct ReceivedMessage {
  struct Large;  // src/ipc/connection.cpp
  ReceivedMessage();
  ReceivedMessage(const ReceivedMessage&) = delete;
  ReceivedMessage& operator=(const ReceivedMessage&) = delete;
  ~ReceivedMessage();
  std::span<const std::byte> bytes() const noexcept;

  std::vector<std::byte> small;
  std::unique_ptr<Large> large;
};
}  // namespace detail

class Connection {
 public:
  Connection() = default;  // a closed connection

  // Shared objects inside `value` pass their descriptors along (see above); ValueError when
  // they need more than 64 or the connection is not a Unix socket.
  template <class T>
  void send(const T& value) {
    static_assert(detail::require_encodable<T>(),
                  "mp: Connection::send needs an encodable type (see mp/codec.hpp)");
    detail::EncodeBufferLease buf;
    if constexpr (detail::memcpy_encodable<T>) {  // plain bytes: cannot hold a handle
      encode_into(value, buf.get());
      send_bytes(buf.get());
    } else {
      detail::FdOutbox outbox;
      encode_into(value, buf.get());
      send_message(buf.get(), outbox.fds());
    }
  }
  // Throws EOFError when the peer has closed, ProtocolError for a value of another type or a
  // message whose descriptors do not match what it names (the connection stays usable).
  template <class T>
  T recv() {
    static_assert(detail::require_encodable<T>(),
                  "mp: Connection::recv needs an encodable type (see mp/codec.hpp)");
    detail::ReceivedMessage message;
    if constexpr (detail::memcpy_encodable<T>) {
      receive(message, nullptr);
      return detail::decode_message<T>(message.bytes(), message.large != nullptr);
    } else {
      detail::ReceivedFds fds;  // closes what no decoded handle took
      receive(message, &fds);
      detail::FdInbox inbox(fds.fds());
      return detail::decode_message<T>(message.bytes(), message.large != nullptr);
    }
  }

  void send_bytes(std::span<const std::byte> data);
  void send_bytes(std::string_view text) {
    send_bytes(std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
  }
  std::vector<std::byte> recv_bytes();
  // Receives into `buffer`; returns the message size. Throws BufferTooShort (carrying the whole
  // message) when it does not fit; the message is consumed either way.
  std::size_t recv_bytes_into(std::span<std::byte> buffer);

  // Whether a message (or EOF) is ready to be received; the timed form waits for one.
  bool poll() { return poll_for(std::chrono::nanoseconds(0)); }
  template <class Rep, class Period>
  bool poll(std::chrono::duration<Rep, Period> timeout) {
    return poll_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  void close() noexcept;
  bool closed() const noexcept;
  bool readable() const noexcept;
  bool writable() const noexcept;
  int fileno() const;  // ValueError when closed

  // The largest message recv accepts (default: no limit). A larger message is not read: recv
  // throws ProtocolError and, since the start of the next message is then unknown, the
  // connection stops receiving for good: readable() turns false and every later recv or poll
  // throws ProtocolError (never bytes of the skipped message). Sending still works; close() it.
  // This is Python's recv_bytes(maxlength), which makes the connection unusable. A message of
  // the wrong type for recv<T> is different: it was read whole, and the connection stays usable.
  void set_max_message_size(std::uint64_t bytes);

  // Wraps a connected socket; takes ownership of `fd`.
  static Connection from_fd(int fd, bool readable = true, bool writable = true);

 private:
  struct State;
  friend class cereal::access;
  // Encoding (detail/fd_transfer.hpp): the socket and which ways it works; a closed Connection
  // travels as closed.
  void save(detail::OutputArchive& ar) const;
  void load(detail::InputArchive& ar);
  void send_message(std::span<const std::byte> data, std::span<const int> fds);
  std::vector<std::byte> recv_message(detail::ReceivedFds* fds);
  void receive(detail::ReceivedMessage& message, detail::ReceivedFds* fds);
  void receive_frame(std::vector<std::byte>& small, detail::EncodeSink* large,
                     detail::ReceivedFds* fds);
  bool poll_for(std::chrono::nanoseconds timeout);
  State& state() const;
  std::shared_ptr<State> state_;
};

// A pair of connected Connections. duplex=false gives (receive-only, send-only), as in Python.
std::pair<Connection, Connection> Pipe(bool duplex = true);

using AuthKey = std::string_view;

// Accepts connections on a Unix socket path (created with mode 0600, removed by close()) or
// "host:port" (TCP; port 0 picks a free port). With an authkey, every connection is
// authenticated before accept() returns it. One that fails the handshake (a wrong key, malformed
// or oversized handshake messages, a peer that hangs up, or one silent past the handshake
// timeout, 5 s by default) is closed and accept() throws AuthenticationError, as Python's does;
// the listener stays open and the next accept() serves the next client. Python has no handshake
// timeout: there a silent peer blocks accept() forever.
class Listener {
 public:
  explicit Listener(const std::string& address, AuthKey authkey = {}, int backlog = 16);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();

  // Throws AuthenticationError when the connection that arrived fails the handshake.
  Connection accept();
  // Throws TimeoutError when no connection arrives in time; the handshake of one that arrives
  // has its own bound (set_handshake_timeout), so this may take up to timeout + that.
  template <class Rep, class Period>
  Connection accept(std::chrono::duration<Rep, Period> timeout) {
    return accept_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  const std::string& address() const noexcept;  // port 0 replaced by the bound port
  void close() noexcept;
  int fileno() const;

  // How long one connection may take to authenticate (default 5 s).
  void set_handshake_timeout(std::chrono::milliseconds timeout) noexcept;
  // How many connections failed to authenticate so far.
  std::size_t rejected() const noexcept;

 private:
  friend struct detail::ListenerInternals;
  struct State;
  Connection accept_for(std::optional<std::chrono::nanoseconds> timeout);
  std::unique_ptr<State> state_;
};

// Connects to a Listener; throws AuthenticationError when the keys differ or the server hangs up
// during the handshake, TimeoutError when the handshake takes over 30 s, std::system_error when
// nothing listens there.
Connection Client(const std::string& address, AuthKey authkey = {});

namespace connection {

// Something wait() can watch: a Connection, a Process (its sentinel) or a raw descriptor.
class Waitable {
 public:
  Waitable(Connection* c) noexcept : connection_(c) {}
  Waitable(Process* p) noexcept : process_(p) {}
  Waitable(int fd) noexcept : fd_(fd) {}
  Connection* connection() const noexcept { return connection_; }
  Process* process() const noexcept { return process_; }
  int fd() const;  // the descriptor watched
  friend bool operator==(const Waitable&, const Waitable&) = default;

 private:
  Connection* connection_ = nullptr;
  Process* process_ = nullptr;
  int fd_ = -1;
};

// Waits until at least one of `objects` is ready (a message or EOF to read, a process ended, a
// descriptor readable) or the timeout passes; returns the ready ones, in the given order (empty
// on timeout).
std::vector<Waitable> wait(const std::vector<Waitable>& objects,
                           std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
template <class Rep, class Period>
std::vector<Waitable> wait(const std::vector<Waitable>& objects,
                           std::chrono::duration<Rep, Period> timeout) {
  return wait(objects,
              std::optional(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout)));
}

}  // namespace connection

}  // namespace mp
