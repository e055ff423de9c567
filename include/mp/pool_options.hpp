// mp/pool_options.hpp — how a Pool (mp/pool.hpp) or a ProcessPoolExecutor (mp/executor.hpp)
// runs its workers.
//
//   mp::Pool pool(4, {.initializer = mp::Initializer(open_db, "app.db"),   // open_db("app.db")
//                     .task_timeout = std::chrono::seconds(30)});
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/context.hpp"
#include "mp/detail/task.hpp"
#include "mp/partial.hpp"
#include "mp/progress.hpp"

namespace mp {

// A call each worker makes once, before its first task (Python's initializer and initargs): a
// function a pool can send, with encodable arguments. A worker whose initializer throws breaks
// the pool: its tasks, pending and new, fail with BrokenProcessPool naming the error.
class Initializer {
 public:
  Initializer() = default;
  Initializer(std::nullptr_t) {}  // none
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, Initializer> &&
           !std::is_same_v<std::decay_t<F>, std::nullptr_t>)
      Initializer(F f)  // NOLINT: implicit, as Python's initializer=f
      : invoker_(&detail::invoke_call<std::decay_t<F>>),
        payload_(detail::encode_call(f, std::tuple<>{})) {
    detail::check_pool_callable<std::decay_t<F>>();
  }
  template <class F, class A, class... Args>
  Initializer(F f, A&& a, Args&&... args)
      : Initializer(partial(std::move(f), std::forward<A>(a), std::forward<Args>(args)...)) {}

  explicit operator bool() const noexcept { return invoker_ != nullptr; }
  detail::Invoker invoker() const noexcept { return invoker_; }
  const std::vector<std::byte>& payload() const noexcept { return payload_; }

 private:
  detail::Invoker invoker_ = nullptr;
  std::vector<std::byte> payload_;
};

struct PoolOptions {
  // Run once in each worker before its first task (Python's initializer, initargs).
  Initializer initializer;
  // A worker is replaced after this many tasks; 0: never (Python's maxtasksperchild).
  std::size_t maxtasksperchild = 0;
  // A task running longer is stopped: its worker is killed (and replaced) and the task fails
  // with TimeoutError; other tasks are untouched. Checked every 20 ms or so.
  std::optional<std::chrono::nanoseconds> task_timeout;
  // Progress of map, starmap, imap and their async forms: mp::Progress::bar() on stderr, or
  // mp::Progress::callback(f); off by default (mp/progress.hpp).
  Progress progress;
  // How workers are started (Python's context argument); default: mp::get_context(). Under
  // spawn and forkserver, tasks and the initializer must be what such a child can run (see
  // mp/context.hpp); workers that die are replaced the same way.
  std::optional<Context> context;
};

struct ExecutorOptions {
  Initializer initializer;              // run once in each worker (with initargs, see above)
  std::size_t max_tasks_per_child = 0;  // 0: workers live as long as the executor
  std::optional<std::chrono::nanoseconds> task_timeout;  // as PoolOptions::task_timeout
  Progress progress;                                     // of map (mp/progress.hpp); off by default
  std::optional<Context> mp_context;  // how workers start (Python's mp_context); default:
                                      // mp::get_context()
};

}  // namespace mp
