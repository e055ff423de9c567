// mp/detail/fd_transfer.hpp — how handles reach a process that did not inherit them, as
// Python's multiprocessing.reduction: their descriptors travel beside the message.
//
//   std::vector<std::byte> bytes;
//   std::vector<int> fds;                                   // borrowed from the handles
//   { detail::FdOutbox out; detail::encode_payload_into(lock, bytes); fds = out.fds(); }
//   ... send `bytes`, and `fds` with SCM_RIGHTS (Connection::send does both) ...
//   { detail::FdInbox in(received_fds); auto same = detail::decode_payload<mp::Lock>(bytes); }
//
// A handle (Value, RawValue, Array, RawArray, Lock, RLock, Semaphore, BoundedSemaphore,
// Condition, Event, Barrier, Queue, JoinableQueue, SimpleQueue, Connection, SharedMemory) is
// encoded as the indices of its descriptors in the outbox plus where its state lies in its
// shared memory; the decoded handle maps the same memory (or holds the same socket), so both
// sides share one object. Each distinct descriptor appears once in fds(), however many handles
// name it, and a decoder maps each shared-memory descriptor once.
//
// Hazards:
// - A handle encoded with no FdOutbox active (into a Queue, or by plain mp::encode) throws
//   ValueError: its descriptor would be lost. Python refuses to pickle a Lock into a Queue alike.
// - Decoding trusts nothing: an index beyond the descriptors received, a descriptor of the wrong
//   kind (a socket where shared memory is expected), a state lying outside its mapping or
//   misaligned, throw ProtocolError. Shared memory itself is not checked beyond that: a peer
//   that can send you a handle shares the object with you, as it does in Python.
// - Decoding first default-constructs the handle (a fresh Lock, a fresh queue ring and socket
//   pair) and then points it at the received object: a transient cost per decoded handle.
// - Scopes are per thread and nest: an inner FdOutbox or FdInbox shadows the outer one until
//   it ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mp/detail/segment.hpp"

namespace mp::detail {

class OutputArchive;
class InputArchive;

// While alive on this thread, encoding a handle appends the descriptors it needs to fds()
// (borrowed: valid as long as the encoded handles live) and writes their index in the message.
class FdOutbox {
 public:
  FdOutbox() noexcept;
  ~FdOutbox();
  FdOutbox(const FdOutbox&) = delete;
  FdOutbox& operator=(const FdOutbox&) = delete;

  const std::vector<int>& fds() const noexcept { return fds_; }

 private:
  friend std::uint32_t pass_fd(int fd, const char* type);
  FdOutbox* outer_;
  std::vector<int> fds_;
};

// While alive on this thread, decoding a handle takes descriptors by index from `fds` (it dups
// what it keeps; the caller still owns and closes `fds`). A bad index: ProtocolError.
class FdInbox {
 public:
  explicit FdInbox(std::span<const int> fds) noexcept;
  ~FdInbox();
  FdInbox(const FdInbox&) = delete;
  FdInbox& operator=(const FdInbox&) = delete;

 private:
  friend int take_fd(std::uint32_t index);
  friend std::shared_ptr<Segment> take_segment(std::uint32_t index);
  FdInbox* outer_;
  std::span<const int> fds_;
  std::vector<std::shared_ptr<Segment>> segments_;  // by index: each memory mapped once
};

// Descriptors that came with a message, owned: closed when this goes (those a decoded handle
// keeps were duplicated).
class ReceivedFds {
 public:
  ReceivedFds() = default;
  ReceivedFds(const ReceivedFds&) = delete;
  ReceivedFds& operator=(const ReceivedFds&) = delete;
  ~ReceivedFds() { clear(); }

  std::span<const int> fds() const noexcept { return fds_; }
  bool empty() const noexcept { return fds_.empty(); }
  void adopt(int fd);     // takes ownership; closes `fd` if it cannot be stored, then rethrows
  void clear() noexcept;  // closes them all

 private:
  std::vector<int> fds_;
};

// --- for the handles' save and load functions -----------------------------------------------

// The index under which `fd` travels in the message being encoded. Throws ValueError, naming
// `type` ("mp::Lock"), when no FdOutbox is active on this thread.
std::uint32_t pass_fd(int fd, const char* type);
// A duplicate (close-on-exec, the caller's to close) of descriptor `index` of the message being
// decoded. Throws ProtocolError when no FdInbox is active or `index` is out of range.
int take_fd(std::uint32_t index);
// take_fd, checked to be a socket (ProtocolError otherwise).
int take_socket(std::uint32_t index);
// The shared memory behind descriptor `index`, mapped on first use. ProtocolError when `index`
// is bad or the descriptor is not shared memory.
std::shared_ptr<Segment> take_segment(std::uint32_t index);

// A place in shared memory on the wire: (descriptor index, offset, size).
void save_shared(OutputArchive& ar, const std::shared_ptr<Segment>& segment, const void* at,
                 std::size_t size, const char* type);
struct SharedPlace {
  std::shared_ptr<Segment> segment;
  std::byte* at = nullptr;
  std::size_t size = 0;
};
// Reads a place saved by save_shared; ProtocolError unless it lies inside its mapping, aligned
// to `align`, at `offset` when one is required (a Value's payload sits at a fixed offset), and
// `size` is a multiple of `unit`.
SharedPlace load_shared(InputArchive& ar, std::size_t align, std::size_t unit,
                        std::size_t required_offset = SIZE_MAX);

[[noreturn]] void throw_wrong_state_size();

template <class State>
void save_ref(OutputArchive& ar, const SharedRef<State>& ref, const char* type) {
  save_shared(ar, ref.segment, ref.state, sizeof(State), type);
}
// The State was constructed by the sender: it is only pointed at, never constructed again.
template <class State>
SharedRef<State> load_ref(InputArchive& ar) {
  SharedPlace p = load_shared(ar, alignof(State), sizeof(State));
  if (p.size != sizeof(State)) throw_wrong_state_size();
  return SharedRef<State>{std::move(p.segment), reinterpret_cast<State*>(p.at)};
}
}  // namespace mp::detail
