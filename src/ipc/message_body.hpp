// ipc/message_body.hpp — the out-of-ring bodies of large Queue messages.
//
// A message too large for the ring is written into a body: a memfd with a 64-byte header (its
// state), then the encoded bytes (encoded there directly: see QueueCore::Message). The producer
// passes the descriptor beside the ring (SCM_RIGHTS) and the consumer maps it, decodes, and marks
// it free once the message is taken for good (its record consumed, the ring's head published past
// it). Fresh pages are the main cost of a large message (in a virtual machine, faulting 100 MB in
// takes longer than copying it several times), so both sides keep what they have already paid for:
// - the producer keeps a couple of sent bodies (BodyPool) and writes the next message into one
//   whose consumer has marked it free;
// - the consumer keeps its mappings of the last few bodies (BodyViews), recognised by the
//   file's identity, so a reused body is read through page tables that are already filled.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "sys/memory.hpp"

namespace mp::detail {

struct BodyHeader {
  enum : std::uint32_t { in_flight = 0, free = 1, claimed = 2 };
  std::atomic<std::uint32_t> state;  // claimed by CAS: forked children share spare bodies
};
inline constexpr std::size_t kBodyHeader = 64;

// A body as its producer holds it: the memory file and a writable mapping of it.
class Body {
 public:
  Body() = default;
  Body(Body&& o) noexcept;
  Body& operator=(Body&& o) noexcept;
  ~Body();

  explicit operator bool() const noexcept { return map_.addr != nullptr; }
  int fd() const noexcept { return map_.fd.get(); }
  BodyHeader& header() const noexcept { return *static_cast<BodyHeader*>(map_.addr); }
  // Where the message goes: all the room after the header.
  std::span<std::byte> bytes() const noexcept {
    return {static_cast<std::byte*>(map_.addr) + kBodyHeader, map_.size - kBodyHeader};
  }
  // Room for a message of at least `size` bytes, what is written kept (the bytes may move).
  // Throws std::system_error.
  void reserve(std::size_t size);

 private:
  sys::Mapping map_;  // header included
};

// The producer's side: bodies to write messages into. Thread-safe.
class BodyPool {
 public:
  // A body with room for `size` bytes, claimed for one message: a spare one its consumer is done
  // with, or a new one. Throws std::system_error when memory cannot be had.
  Body claim(std::size_t size);
  // A claimed body holding `bytes`.
  Body fill(std::span<const std::byte> bytes);
  // Keeps a sent body for reuse: the last couple kept, older ones are dropped (a body whose
  // consumer died before marking it free is never free again, so it must not stay for good).
  void keep(Body body);
  // Keeps a body that was claimed but never sent, marked free.
  void give_back(Body body);

 private:
  std::mutex mutex_;
  std::vector<Body> spares_;
};

// The consumer's side: mappings of received bodies. Not thread-safe: used under the get lock.
class BodyViews {
 public:
  BodyViews() = default;
  BodyViews(const BodyViews&) = delete;
  BodyViews& operator=(const BodyViews&) = delete;
  ~BodyViews();

  // The message bytes (`size` of them) of the body behind `fd`. `populate`: a new mapping's page
  // tables are filled at once, not fault by fault. Throws std::system_error.
  std::span<const std::byte> open(int fd, std::size_t size, bool populate);
  // Tells the producer that the body of `message` (from open) may be reused.
  static void release(std::span<const std::byte> message) noexcept;

 private:
  struct View {
    std::uint64_t dev = 0, ino = 0;
    std::byte* map = nullptr;
    std::size_t size = 0;
  };
  std::vector<View> views_;  // most recently used last
};

}  // namespace mp::detail
