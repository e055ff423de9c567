#include "mp/shared_memory_manager.hpp"

#include <cereal/types/string.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "mp/detail/archive.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "mp/errors.hpp"
#include "mp/queues.hpp"
#include "mp/synchronize.hpp"
#include "runtime/resource_tracker.hpp"
#include "sys/fd.hpp"
#include "sys/memory.hpp"
#include "sys/thread_id.hpp"

namespace mp {

namespace {
// How long a maker waits for the list of names (see own()).
constexpr auto kPutWait = std::chrono::seconds(5);
// How long a shutdown() waits for another one to finish.
constexpr auto kDrainWait = std::chrono::seconds(30);
constexpr int kMaxDrainErrors = 64;
}  // namespace

// Every process that uses the manager puts the names of the blocks it makes into `names`;
// shutdown() takes them out and unlinks them. `tracker` sends to the resource tracker of the
// process that made the manager, which unlinks whatever is left once that process and every
// holder of this descriptor are gone.
struct SharedMemoryManager::State {
  Queue<std::string> names;
  Event down;
  // Held by the shutdown() that empties `names`: another one, whose try_get would give up at once
  // on the list's lock, waits for it instead of returning before those names are unlinked.
  Lock drain;
  sys::UniqueFd tracker;
  int maker_pid = 0;  // 0 in a process that was given the manager

  ~State() {
    if (maker_pid == sys::this_pid()) unlink_all();
  }

  void unlink_all() noexcept {
    down.set();
    bool held = false;
    try {
      held = drain.acquire(kDrainWait);
    } catch (...) {  // unlink what we can all the same
    }
    // A spoiled message (a process killed mid-put) is consumed with its error and skipped: the
    // tracker has its name. Errors that consume nothing (a corrupt ring) end the loop.
    for (int errors = 0; errors < kMaxDrainErrors;) {
      try {
        std::optional<std::string> name = names.try_get();
        if (!name) break;
        sys::unlink_named("/" + *name);  // ENOENT: unlinked by its user already
        runtime::untrack_shm_name(tracker.get(), *name);
      } catch (...) {
        ++errors;
      }
    }
    if (held) {
      try {
        drain.release();
      } catch (...) {
      }
    }
  }
};

SharedMemoryManager::SharedMemoryManager() : state_(std::make_shared<State>()) {
  state_->tracker = sys::UniqueFd(runtime::dup_tracker_socket());
  state_->maker_pid = sys::this_pid();
}

SharedMemory SharedMemoryManager::shared_memory(std::size_t size) {
  if (state_->down.is_set()) throw ValueError("SharedMemoryManager is shut down");
  SharedMemory block = SharedMemory::create(size);
  own(block);
  return block;
}

void SharedMemoryManager::own(SharedMemory block) {
  State& s = *state_;
  const std::string& name = block.name();
  // The maker's tracker hears of the name before this process's tracker forgets it, so that no
  // moment leaves it with neither; when both are one tracker, the second 'R' undoes the 'U'.
  runtime::track_shm_name(s.tracker.get(), name);
  block.disown();
  runtime::track_shm_name(s.tracker.get(), name);
  try {
    // Not put_nowait: that gives up as soon as another maker holds the list's lock, and the list
    // only fills at about 100 000 names, so the wait is for the lock (or its dead holder).
    s.names.put(name, kPutWait);
  } catch (const Full&) {
    block.unlink();
    throw Error("SharedMemoryManager: too many blocks (the list of their names is full)");
  }
  // The put's publishing store is a release, and x86 may let this load pass it: then a
  // shutdown() that set `down` and found the list empty meanwhile would leave this block to us
  // while we saw `down` clear. The fence orders them (shutdown's set is seq_cst).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (s.down.is_set()) {  // shut down meanwhile: its list may have been read already
    block.unlink();
    throw ValueError("SharedMemoryManager is shut down");
  }
}

void SharedMemoryManager::shutdown() {
  state_->unlink_all();
}

void SharedMemoryManager::save(detail::OutputArchive& ar) const {
  const bool tracked = static_cast<bool>(state_->tracker);
  const std::uint32_t tracker =
      tracked ? detail::pass_fd(state_->tracker.get(), "mp::SharedMemoryManager") : 0;
  ar(state_->names, state_->down, state_->drain, tracked, tracker);
}

void SharedMemoryManager::load(detail::InputArchive& ar) {
  auto state = std::make_shared<State>();
  bool tracked = false;
  std::uint32_t tracker = 0;
  ar(state->names, state->down, state->drain, tracked, tracker);
  if (tracked) state->tracker = sys::UniqueFd(detail::take_socket(tracker));
  state_ = std::move(state);
}

}  // namespace mp
