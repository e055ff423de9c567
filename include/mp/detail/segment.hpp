// mp/detail/segment.hpp — the shared memory behind every shared object handle.
//
// A Segment is one anonymous shared mapping (a memfd): zero-filled, inherited by fork, never in
// /dev/shm, freed by the kernel when the last process lets go. Handles (Value, Lock, ...) hold a
// shared_ptr to their Segment plus the address of their state inside it, so copying a handle
// never copies the shared state. The descriptor is kept so that a segment can be sent to an
// unrelated process over a Unix socket (detail/fd_transfer.hpp), which maps it with attach().
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace mp::detail {

class Segment {
 public:
  // A new zero-filled segment of at least `size` bytes. Throws std::system_error.
  static std::shared_ptr<Segment> create(std::size_t size);
  // Maps the segment behind `fd`, received from another process; `fd` is borrowed (duplicated).
  // Throws ProtocolError when `fd` is not shared memory, std::system_error when mapping fails.
  static std::shared_ptr<Segment> attach(int fd);

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  int fd() const noexcept { return fd_; }

 private:
  Segment(std::byte* data, std::size_t size, int fd) noexcept : data_(data), size_(size), fd_(fd) {}
  std::byte* data_;
  std::size_t size_;
  int fd_;
};

// A typed place inside a segment: what a handle holds.
template <class State>
struct SharedRef {
  std::shared_ptr<Segment> segment;
  State* state = nullptr;

  static SharedRef make() {
    auto seg = Segment::create(sizeof(State));
    auto* s = new (seg->data()) State();
    return SharedRef{std::move(seg), s};
  }
  State* operator->() const noexcept { return state; }
  State& operator*() const noexcept { return *state; }
};

}  // namespace mp::detail
