// mp/executor.hpp — Python's concurrent.futures.ProcessPoolExecutor.
//
//   int square(int n) { return n * n; }
//
//   mp::ProcessPoolExecutor ex(3);
//   mp::Future<int> f = ex.submit(square, 5);
//   for (int x : ex.map(square, std::vector{1, 2, 3})) std::cout << x << "\n";  // in order
//   ex.shutdown();                                   // the destructor does shutdown(true)
//
// It runs on the same workers and rules as mp::Pool (mp/pool.hpp): function pointers,
// captureless lambdas and empty or encodable function objects; a worker that dies fails only
// its task, with WorkerCrashed (Python's executor would break as a whole). As in Python, only
// a few tasks beyond one per worker are handed to the workers at a time; the others wait here,
// pending, and can be cancelled.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "mp/detail/executor_front.hpp"
#include "mp/detail/pool_core.hpp"
#include "mp/detail/progress_reporter.hpp"
#include "mp/detail/task_feed.hpp"
#include "mp/errors.hpp"
#include "mp/futures.hpp"
#include "mp/pool_options.hpp"

namespace mp {

class ProcessPoolExecutor : public detail::ExecutorFront<ProcessPoolExecutor> {
 public:
  // `max_workers` processes; 0: cpu_count().
  explicit ProcessPoolExecutor(std::size_t max_workers = 0, const ExecutorOptions& options = {})
      : state_(std::make_shared<State>(max_workers, options)) {}
  ~ProcessPoolExecutor() { shutdown(true); }
  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;

  // submit(f, args...) and map(f, xs[, timeout][, chunksize]): mp/detail/executor_front.hpp.

  // No more submissions. With `wait`, returns once every task has finished and the workers
  // have exited; with `cancel_futures`, the tasks not yet handed to a worker are cancelled.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    state_->feed->close(cancel_futures);
    if (!wait) return;
    state_->feed->wait_drained();
    {
      std::lock_guard lock(state_->mutex);
      if (state_->joined) return;
      state_->joined = true;
    }
    state_->core.close();
    state_->core.join();
  }

 private:
  friend class detail::ExecutorFront<ProcessPoolExecutor>;

  struct State {
    detail::PoolCore core;
    std::shared_ptr<detail::TaskFeed> feed;
    Progress progress;
    std::mutex mutex;
    bool joined = false;

    State(std::size_t n, const ExecutorOptions& o)
        : core(n,
               PoolOptions{o.initializer, o.max_tasks_per_child, o.task_timeout, {}, o.mp_context}),
          progress(o.progress) {
      // As in Python, one task beyond one per worker is handed over; the rest wait, pending.
      const std::size_t window = core.processes() + 1;
      feed = std::make_shared<detail::TaskFeed>(detail::TaskSink{
          [window] { return window; },
          [this](detail::Invoker invoker, std::vector<std::byte> payload, detail::TaskDone done) {
            // Future's callbacks run on whichever thread delivers (futures.hpp).
            core.submit(invoker, std::move(payload), std::move(done),
                        detail::PoolCore::Delivery::any_thread);
          },
          [] { return std::exception_ptr(); }});
    }
  };

  detail::TaskFeed& feed() { return *state_->feed; }
  std::weak_ptr<detail::ResultReader> result_reader() const { return state_->core.reader(); }
  void hand_over_encoded(detail::Invoker invoker, detail::EncodeCall encode, const void* context,
                         detail::TaskDone done) {
    state_->core.submit(invoker, encode, context, std::move(done),
                        detail::PoolCore::Delivery::any_thread);
  }
  void check_open() {
    if (state_->core.broken()) {
      throw BrokenProcessPool("a worker's initializer failed: the executor cannot run tasks");
    }
  }
  std::shared_ptr<detail::ProgressReporter> map_progress(std::size_t items) {
    if (!state_->progress) return nullptr;
    return std::make_shared<detail::ProgressReporter>(state_->progress, items);
  }

  std::shared_ptr<State> state_;
};

}  // namespace mp
