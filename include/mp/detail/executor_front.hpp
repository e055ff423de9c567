// mp/detail/executor_front.hpp — what concurrent.futures' executors share: submit and map over a
// TaskFeed, for ProcessPoolExecutor (mp/executor.hpp) and mpi::PoolExecutor (mp/mpi.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/detail/chunked_results.hpp"
#include "mp/detail/map_items.hpp"
#include "mp/detail/progress_reporter.hpp"
#include "mp/detail/task.hpp"
#include "mp/detail/task_feed.hpp"
#include "mp/errors.hpp"
#include "mp/futures.hpp"

namespace mp {

namespace detail {
template <class R>
std::vector<R> future_values(Future<std::vector<R>>& f, Deadline deadline) {
  if (!deadline) return f.result();
  return f.result(left_until(*deadline));
}
}  // namespace detail

// The results of an executor's map, in input order; iterating waits for each in turn and
// rethrows the exception of the first item that failed.
template <class R>
using MapResults = detail::OrderedResults<Future<std::vector<R>>, R, &detail::future_values<R>>;

namespace detail {

// `Executor` provides:
//   TaskFeed& feed();                          where its tasks wait for its workers
//   std::weak_ptr<ResultReader> result_reader();  lets a future's waiter read results (or none)
//   void check_open();                         throws when it cannot take tasks (a broken pool)
//   std::shared_ptr<ProgressReporter> map_progress(std::size_t items);  null for none
// and may provide, to take a task encoded straight into its queue (never held in a buffer):
//   void hand_over_encoded(Invoker, EncodeCall encode, const void* context, TaskDone);
template <class Executor>
class ExecutorFront {
 public:
  // f(args...) in a worker. Throws Error after shutdown().
  template <class F, class... Args>
  Future<std::invoke_result_t<F&, std::decay_t<Args>&...>> submit(F f, Args&&... args) {
    check_pool_callable<F>();
    using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
    const Invoker invoker = &invoke_call<F, std::decay_t<Args>...>;
    self().check_open();
    Future<R> future(std::in_place, self().result_reader());
    if constexpr (requires(Executor & e, TaskDone d) {
                    e.hand_over_encoded(invoker, EncodeCall{}, nullptr, std::move(d));
                  }) {
      // While the workers have room, the call is encoded from the arguments where they lie
      // straight into the task queue: a large argument is neither copied nor held encoded here.
      using Refs = std::tuple<const F&, const std::decay_t<Args>&...>;
      const Refs refs(f, args...);
      EncodeCall encode = [](const void* context, OutputArchive& ar) {
        std::apply([&ar](const auto&... a) { encode_call_into(ar, a...); },
                   *static_cast<const Refs*>(context));
      };
      if (self().feed().hand_over_now(
              [future]() mutable { return future.set_running(); }, finisher(future),
              [&](TaskDone done) {
                self().hand_over_encoded(invoker, encode, &refs, std::move(done));
              })) {
        return future;
      }
    }
    push(future, invoker,
         encode_call(f, std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...),
                     kTaskHeaderSpace));
    return future;
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

 private:
  Executor& self() { return static_cast<Executor&>(*this); }

  template <class F, class Range>
  auto map_impl(F f, Range&& xs, std::size_t chunksize, Deadline deadline) {
    check_pool_callable<F>();
    using X = std::ranges::range_value_t<Range>;
    using R = typename MapElement<F, X, false>::type;
    static_assert(!std::is_same_v<R, Unit>,
                  "mp: an executor's map needs a function that returns a value");
    if (chunksize == 0) throw ValueError("chunksize must be >= 1");
    MapItems<X> items(std::forward<Range>(xs));
    std::shared_ptr<ProgressReporter> progress = self().map_progress(items.size());
    std::vector<Future<std::vector<R>>> chunks;
    for (std::size_t begin = 0; begin < items.size(); begin += chunksize) {
      const std::size_t end = std::min(items.size(), begin + chunksize);
      chunks.push_back(enqueue<std::vector<R>>(&invoke_chunk<F, X, false>,
                                               encode_chunk(f, items.take(begin, end))));
      if (progress) {
        chunks.back().add_done_callback(
            [progress, n = end - begin](Future<std::vector<R>>&) { progress->advance(n); });
      }
    }
    return MapResults<R>(std::move(chunks), deadline);
  }

  template <class R>
  Future<R> enqueue(Invoker invoker, std::vector<std::byte> payload) {
    self().check_open();
    Future<R> future(std::in_place, self().result_reader());
    push(future, invoker, std::move(payload));
    return future;
  }

  // Waits in the feed for room with the workers, cancellable meanwhile.
  template <class R>
  void push(Future<R> future, Invoker invoker, std::vector<std::byte> payload) {
    self().feed().push(PendingTask{invoker, std::move(payload),
                                   [future]() mutable { return future.set_running(); },
                                   [future]() mutable { future.cancel(); }, finisher(future)});
  }

  template <class R>
  static TaskDone finisher(Future<R> future) {
    return [future](std::span<const std::byte> bytes, std::exception_ptr e) mutable {
      if (e) return future.finish(std::nullopt, e);
      try {
        future.finish(decode_payload<Returned<R>>(bytes), nullptr);
      } catch (...) {
        future.finish(std::nullopt, std::current_exception());
      }
    };
  }
};

}  // namespace detail
}  // namespace mp
