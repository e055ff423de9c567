// mp/shared_memory_manager.hpp — blocks that live until their manager shuts down, as Python's
// multiprocessing.managers.SharedMemoryManager.
//
//   mp::SharedMemoryManager smm;                  // smm = SharedMemoryManager(); smm.start()
//   auto block = smm.shared_memory(1 << 20);      // smm.SharedMemory(size=1 << 20)
//   auto scores = smm.shareable_list({1.5, 2.5});  // smm.ShareableList([1.5, 2.5])
//   mp::Process p([](mp::SharedMemoryManager smm) { auto more = smm.shared_memory(64); }, smm);
//   p.start(); p.join();                          // `more` outlives p
//   smm.shutdown();                               // unlinks every block made through smm
//
// A block made through the manager belongs to the manager, not to the process that made it (a
// plain SharedMemory is unlinked when its creator's last handle goes): it stays in /dev/shm,
// for any process to attach by name, until shutdown() — called in any process, or by the
// destructor of the manager's last handle in the process that made it. Should that process die
// before (SIGKILL), its resource tracker unlinks them once it and every process that was given
// the manager are gone. Handles to the blocks keep working after shutdown (the memory stays
// mapped); only the names go, as in Python.
//
// A SharedMemoryManager is a handle: copies, and copies passed to other processes (as a Process
// argument or over a Connection, under every start method), refer to one manager.
//
// Differences from Python: no server process (a queue of block names and the tracker do its
// work); making a block after shutdown() throws ValueError, in every process.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <ranges>
#include <string>
#include <utility>

#include "mp/shareable_list.hpp"
#include "mp/shared_memory.hpp"

namespace mp {

class SharedMemoryManager {
 public:
  SharedMemoryManager();  // started: Python's start() is not needed

  // A fresh block of `size` bytes, zero-filled (ValueError for 0 or after shutdown()).
  SharedMemory shared_memory(std::size_t size);
  // A ShareableList holding `values` (see mp/shareable_list.hpp).
  template <class T>
  ShareableList<T> shareable_list(std::initializer_list<T> values) {
    return adopt(ShareableList<T>(values));
  }
  ShareableList<std::string> shareable_list(std::initializer_list<const char*> values) {
    return adopt(ShareableList(values));
  }
  template <std::ranges::input_range R>
  auto shareable_list(R&& values) {
    return adopt(ShareableList(std::forward<R>(values)));
  }

  // Unlinks every block made through this manager, by any process, and refuses new ones.
  // Idempotent.
  void shutdown();

  friend bool operator==(const SharedMemoryManager& a, const SharedMemoryManager& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  struct State;
  friend class cereal::access;
  template <class List>
  List adopt(List list) {
    own(list.shm());
    return list;
  }
  void own(SharedMemory block);
  void save(detail::OutputArchive& ar) const;
  void load(detail::InputArchive& ar);
  std::shared_ptr<State> state_;
};

}  // namespace mp
