// services/pool_worker.hpp — what a pool's process and its workers agree on, and a worker's loop.
//
// A task is [TaskHeader|payload] on the task queue; its answer is [id|outcome] on the result
// queue (runtime/outcome.hpp). The pool's side: services/pool_core.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/code_ref.hpp"
#include "mp/detail/queue_core.hpp"
#include "mp/detail/task.hpp"
#include "mp/errors.hpp"
#include "mp/sharedctypes.hpp"

namespace mp::detail {

inline constexpr std::uint64_t kStop = 0;  // the task id that tells a worker to exit
inline constexpr std::uint64_t kInitFailed = ~std::uint64_t{0};  // a result: an initializer threw

struct TaskHeader {
  std::uint64_t id;
  CodeRef invoker;
};
static_assert(sizeof(TaskHeader) == kTaskHeaderSpace);

// Takes tasks until told to stop (or until `maxtasks`, when not 0): the loop of every worker,
// whichever way it was started.
void serve_tasks(QueueCore& tasks, QueueCore& results, RawArray<std::uint64_t>& running,
                 std::size_t index, Invoker initializer, std::span<const std::byte> init_args,
                 std::size_t maxtasks);

// What a worker started by spawn or forkserver receives: the pool's queues and its slot, as
// handles (their descriptors travel with it), and its options by code identity.
struct WorkerSpec {
  QueueCore tasks{fnv1a("mp.pool.task"), 0, {}};
  QueueCore results{fnv1a("mp.pool.result"), 0, {}};
  RawArray<std::uint64_t> running{1};
  std::uint64_t index = 0;
  std::uint64_t maxtasks = 0;
  std::optional<CodeRef> initializer;  // its invoker
  std::vector<std::byte> init_args;    // the initializer and its arguments

  void save(OutputArchive& ar) const {
    tasks.save_handle(ar, "pool task queue");
    results.save_handle(ar, "pool result queue");
    ar(running, index, maxtasks, initializer, init_args);
  }
  void load(InputArchive& ar) {
    tasks.load_handle(ar, fnv1a("mp.pool.task"));
    results.load_handle(ar, fnv1a("mp.pool.result"));
    ar(running, index, maxtasks, initializer, init_args);
    if (index >= running.size()) throw ProtocolError("pool worker index out of range");
  }
};

// A worker started by spawn or forkserver: serve_tasks from its spec.
void worker_main(WorkerSpec spec);

}  // namespace mp::detail
