// mp/shared_memory.hpp — named shared memory blocks, as Python's
// multiprocessing.shared_memory.SharedMemory.
//
//   auto shm = mp::SharedMemory::create(1 << 20);   // a fresh name: "mp-<pid>-<random hex>"
//   std::ranges::fill(shm.buf(), std::byte{0});
//   // in another process, even one not started by this one:
//   auto same = mp::SharedMemory::attach(shm.name());
//
// A block lives under /dev/shm until unlinked. Ownership is explicit, so that blocks neither
// leak nor vanish under their users:
// - The creating process owns the name. When the last handle of the block in that process is
//   destroyed, the name is unlinked (unless create() was told track=false, or unlink() was
//   called already). Copies of the handle in forked children never unlink.
// - A process that only attached never unlinks on its own (Python's resource tracker does, and
//   so removes blocks other processes still use).
// - A creator killed by SIGKILL cannot run its destructor. A resource tracker process (started
//   on the first tracked create(), shared with the processes forked afterwards) unlinks the
//   names of such blocks once the creator and every process that shares its tracker are gone,
//   as Python's does. mp::Array / mp::RawArray (anonymous, never in /dev/shm) need none of this.
//
// Passing to another process: besides attach(name), a handle can be sent over a Connection or
// passed as an argument of a starting Process; its descriptor travels with SCM_RIGHTS (see
// detail/fd_transfer.hpp), so the receiver maps the block even after it was unlinked. The
// receiver has attached, not created: it never unlinks on its own.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace cereal {
class access;
}

namespace mp {

class SharedMemoryManager;

namespace detail {
class OutputArchive;
class InputArchive;
}  // namespace detail

class SharedMemory {
 public:
  // A closed handle with no name: what a received block is decoded into.
  SharedMemory();

  // Creates a block of `size` bytes (zero-filled). An empty name picks a random one. Throws
  // std::system_error (EEXIST when the name is taken), ValueError for a bad name or size 0.
  static SharedMemory create(std::size_t size, std::string name = {}, bool track = true);
  // Maps an existing block. Throws std::system_error (ENOENT when there is none).
  static SharedMemory attach(std::string name);

  const std::string& name() const noexcept;  // without the leading '/'
  std::size_t size() const noexcept;
  std::span<std::byte> buf() const;  // ValueError after close()

  // Unmaps the block from this process, for every copy of this handle; idempotent.
  void close() noexcept;
  // Removes the name; processes that mapped the block keep using it. Idempotent.
  void unlink();

 private:
  struct State;
  friend class cereal::access;
  friend class SharedMemoryManager;
  // This process stops owning the name (its tracker forgets it): a manager owns it now.
  void disown() noexcept;
  void save(detail::OutputArchive& ar) const;  // ValueError when closed
  void load(detail::InputArchive& ar);
  explicit SharedMemory(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace mp
