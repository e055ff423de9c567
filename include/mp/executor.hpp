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

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/chunked_results.hpp"
#include "mp/detail/map_items.hpp"
#include "mp/detail/pool_core.hpp"
#include "mp/detail/progress_reporter.hpp"
#include "mp/detail/task.hpp"
#include "mp/errors.hpp"
#include "mp/futures.hpp"
#include "mp/pool_options.hpp"

namespace mp {

namespace detail {
template <class R>
std::vector<R> future_values(Future<std::vector<R>>& f, Deadline deadline) {
  if (!deadline) return f.result();
  return f.result(left_until(*deadline));
}
}  // namespace detail

// The results of ProcessPoolExecutor::map, in input order; iterating waits for each in turn and
// rethrows the exception of the first item that failed.
template <class R>
using MapResults = detail::OrderedResults<Future<std::vector<R>>, R, &detail::future_values<R>>;

class ProcessPoolExecutor {
 public:
  // `max_workers` processes; 0: cpu_count().
  explicit ProcessPoolExecutor(std::size_t max_workers = 0, const ExecutorOptions& options = {})
      : state_(std::make_shared<State>(max_workers, options)) {}
  ~ProcessPoolExecutor() { shutdown(true); }
  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;

  // f(args...) in a worker. Throws Error after shutdown().
  template <class F, class... Args>
  Future<std::invoke_result_t<F&, std::decay_t<Args>&...>> submit(F f, Args&&... args) {
    detail::check_pool_callable<F>();
    using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
    auto payload =
        detail::encode_call(f, std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...),
                            detail::kTaskHeaderSpace);
    return enqueue<R>(&detail::invoke_call<F, std::decay_t<Args>...>, std::move(payload));
  }

  // f(x) for each x of `xs`, in order, lazily: the tasks are submitted now (in chunks of
  // `chunksize` items), the results awaited as the returned range is iterated.
  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& xs, std::size_t chunksize = 1) {
    return map_impl(f, std::forward<Range>(xs), chunksize, std::nullopt);
  }
  // As map; iterating throws TimeoutError once `timeout` has passed since this call and the next
  // result has not come (Python's map(..., timeout=)).
  template <class F, std::ranges::input_range Range, class Rep, class Period>
  auto map(F f, Range&& xs, std::chrono::duration<Rep, Period> timeout, std::size_t chunksize = 1) {
    return map_impl(f, std::forward<Range>(xs), chunksize,
                    std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  // No more submissions. With `wait`, returns once every task has finished and the workers
  // have exited; with `cancel_futures`, the tasks not yet handed to a worker are cancelled.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    std::deque<Item> dropped;
    {
      std::lock_guard lock(state_->mutex);
      state_->shut = true;
      if (cancel_futures) dropped.swap(state_->queue);
    }
    for (auto& item : dropped) item.cancel();
    if (!wait) return;
    {
      std::unique_lock lock(state_->mutex);
      state_->drained.wait(lock, [&] { return state_->queue.empty() && state_->in_flight == 0; });
      if (state_->joined) return;
      state_->joined = true;
    }
    state_->core.close();
    state_->core.join();
  }

 private:
  // A task not yet handed to the workers.
  struct Item {
    detail::Invoker invoker;
    std::vector<std::byte> payload;
    std::function<bool()> start;   // pending -> running; false if cancelled
    std::function<void()> cancel;  // for shutdown(cancel_futures)
    detail::PoolCore::Done done;
  };

  struct State {
    detail::PoolCore core;
    std::size_t window;  // tasks handed to the workers at most at once
    std::mutex mutex;
    std::condition_variable drained;
    std::deque<Item> queue;
    std::size_t in_flight = 0;
    bool shut = false;
    bool joined = false;

    Progress progress;

    State(std::size_t n, const ExecutorOptions& o)
        : core(n,
               PoolOptions{o.initializer, o.max_tasks_per_child, o.task_timeout, {}, o.mp_context}),
          window(core.processes() + 1),
          progress(o.progress) {}

    // Hands pending tasks to the workers while the window has room; skips cancelled ones.
    void feed() {
      for (;;) {
        Item item;
        {
          std::lock_guard lock(mutex);
          if (in_flight >= window || queue.empty()) {
            if (queue.empty() && in_flight == 0) drained.notify_all();
            return;
          }
          item = std::move(queue.front());
          queue.pop_front();
          if (!item.start()) continue;  // cancelled while pending
          ++in_flight;
        }
        // A copy: should the hand-over fail, `item.done` still reports it (the pool drops its
        // own copy of `done` uncalled when submit throws).
        auto done = [this, d = item.done](std::span<const std::byte> bytes, std::exception_ptr e) {
          d(bytes, e);
          {
            std::lock_guard lock(mutex);
            --in_flight;
          }
          feed();
        };
        try {
          core.submit(item.invoker, std::move(item.payload), std::move(done));
        } catch (...) {
          {
            std::lock_guard lock(mutex);
            --in_flight;
          }
          item.done({}, std::current_exception());  // the real error, to this task's future
        }
      }
    }
  };

  template <class F, class Range>
  auto map_impl(F f, Range&& xs, std::size_t chunksize, detail::Deadline deadline) {
    detail::check_pool_callable<F>();
    using X = std::ranges::range_value_t<Range>;  // not Item: that is a member
    using R = typename detail::MapElement<F, X, false>::type;
    static_assert(!std::is_same_v<R, detail::Unit>,
                  "mp: ProcessPoolExecutor::map needs a function that returns a value");
    if (chunksize == 0) throw ValueError("chunksize must be >= 1");
    detail::MapItems<X> items(std::forward<Range>(xs));
    std::shared_ptr<detail::ProgressReporter> progress;
    if (state_->progress) {
      progress = std::make_shared<detail::ProgressReporter>(state_->progress, items.size());
    }
    std::vector<Future<std::vector<R>>> chunks;
    for (std::size_t begin = 0; begin < items.size(); begin += chunksize) {
      const std::size_t end = std::min(items.size(), begin + chunksize);
      chunks.push_back(enqueue<std::vector<R>>(&detail::invoke_chunk<F, X, false>,
                                               detail::encode_chunk(f, items.take(begin, end))));
      if (progress) {
        chunks.back().add_done_callback(
            [progress, n = end - begin](Future<std::vector<R>>&) { progress->advance(n); });
      }
    }
    return MapResults<R>(std::move(chunks), deadline);
  }

  template <class R>
  Future<R> enqueue(detail::Invoker invoker, std::vector<std::byte> payload) {
    Future<R> future(std::in_place);
    Item item{invoker, std::move(payload), [future]() mutable { return future.set_running(); },
              [future]() mutable { future.cancel(); },
              [future](std::span<const std::byte> bytes, std::exception_ptr e) mutable {
                if (e) return future.finish(std::nullopt, e);
                try {
                  future.finish(detail::decode_payload<detail::Returned<R>>(bytes), nullptr);
                } catch (...) {
                  future.finish(std::nullopt, std::current_exception());
                }
              }};
    {
      std::lock_guard lock(state_->mutex);
      if (state_->shut) throw Error("cannot schedule new futures after shutdown");
      if (state_->core.broken()) {
        throw BrokenProcessPool("a worker's initializer failed: the executor cannot run tasks");
      }
      state_->queue.push_back(std::move(item));
    }
    state_->feed();
    return future;
  }

  std::shared_ptr<State> state_;
};

}  // namespace mp
