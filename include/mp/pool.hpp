// mp/pool.hpp — a pool of worker processes, as Python's multiprocessing.Pool.
//
//   int square(int n) { return n * n; }
//
//   mp::Pool pool(4);
//   std::vector<int> r = pool.map(square, std::vector{1, 2, 3, 4, 5});   // {1, 4, 9, 16, 25}
//   mp::AsyncResult<int> a = pool.apply_async(square, 7);
//   int v = a.get(std::chrono::seconds(5));                             // 49
//
// Workers are forked when the pool is made and run tasks until the pool ends. A task is a
// function pointer, a captureless lambda, or an empty or encodable function object, with
// encodable arguments (mp/codec.hpp); anything else is a compile-time error.
//
// Unlike Python:
// - A worker that dies (a crash, kill -9, std::abort) fails only the task it was running, with
//   mp::WorkerCrashed; the pool starts a replacement and every other task completes.
// - An exception of a standard type thrown by a task is rethrown by get() as that same type
//   with the same what(); other exceptions as mp::RemoteError, which names the original type.
// - terminate() (and the destructor, as Python's `with`) fails the results still pending with
//   mp::BrokenProcessPool rather than leaving them unfinished forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
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
#include "mp/detail/pool_core.hpp"
#include "mp/detail/task.hpp"
#include "mp/errors.hpp"

namespace mp {

class Pool;

// The result of a task that may not have finished (Python's AsyncResult).
template <class T>
class AsyncResult {
 public:
  // Waits, then returns the value or rethrows the task's exception.
  T get() {
    wait();
    return value();
  }
  // Throws TimeoutError when the task has not finished in time.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    if (!wait_for(timeout)) throw TimeoutError("the task has not finished");
    return value();
  }
  void wait() const {
    std::unique_lock lock(state_->mutex);
    state_->cv.wait(lock, [&] { return state_->done; });
  }
  // True once the task has finished.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock lock(state_->mutex);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->done; });
  }
  bool ready() const {
    std::lock_guard lock(state_->mutex);
    return state_->done;
  }
  // Whether the task succeeded; ValueError while it has not finished (as in Python).
  bool successful() const {
    std::lock_guard lock(state_->mutex);
    if (!state_->done) throw ValueError("the task has not finished");
    return !state_->error;
  }

 private:
  friend class Pool;
  using Stored = detail::Returned<T>;
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::optional<Stored> value;
    std::exception_ptr error;

    void finish(std::optional<Stored> v, std::exception_ptr e) {
      {
        std::lock_guard lock(mutex);
        value = std::move(v);
        error = std::move(e);
        done = true;
      }
      cv.notify_all();
    }
  };

  AsyncResult() : state_(std::make_shared<State>()) {}

  T value() const {
    std::lock_guard lock(state_->mutex);
    if (state_->error) std::rethrow_exception(state_->error);
    if constexpr (!std::is_void_v<T>) return *state_->value;
  }

  std::shared_ptr<State> state_;
};

class Pool {
 public:
  // `processes` workers; 0: cpu_count().
  explicit Pool(std::size_t processes = 0, const PoolOptions& options = {})
      : core_(processes, options) {}
  ~Pool() = default;  // terminate(), as Python's `with` block
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  std::size_t processes() const noexcept { return core_.processes(); }

  // f(args...) in a worker.
  template <class F, class... Args>
  auto apply(F f, Args&&... args) {
    return apply_async(f, std::forward<Args>(args)...).get();
  }
  template <class F, class... Args>
  AsyncResult<std::invoke_result_t<F&, std::decay_t<Args>&...>> apply_async(F f, Args&&... args) {
    detail::check_pool_callable<F>();
    using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
    AsyncResult<R> result;
    auto payload =
        detail::encode_call(f, std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...));
    core_.submit(&detail::invoke_call<F, std::decay_t<Args>...>, std::move(payload),
                 [state = result.state_](std::span<const std::byte> bytes, std::exception_ptr e) {
                   finish_one<R>(*state, bytes, e);
                 });
    return result;
  }

  // [f(x) for x in xs], in order; the items travel in chunks of `chunksize` (0: Python's
  // default, about four chunks per worker).
  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& xs, std::size_t chunksize = 0) {
    return map_async(f, std::forward<Range>(xs), chunksize).get();
  }
  template <class F, std::ranges::input_range Range>
  auto map_async(F f, Range&& xs, std::size_t chunksize = 0) {
    using Item = std::ranges::range_value_t<Range>;
    return map_impl<F, Item, false>(f, std::forward<Range>(xs), chunksize);
  }

  // [f(a, b, ...) for (a, b, ...) in xs]: the items are tuples (or pairs) of arguments.
  template <class F, std::ranges::input_range Range>
  auto starmap(F f, Range&& xs, std::size_t chunksize = 0) {
    return starmap_async(f, std::forward<Range>(xs), chunksize).get();
  }
  template <class F, std::ranges::input_range Range>
  auto starmap_async(F f, Range&& xs, std::size_t chunksize = 0) {
    using Item = std::ranges::range_value_t<Range>;
    return map_impl<F, Item, true>(f, std::forward<Range>(xs), chunksize);
  }

  void close() { core_.close(); }          // no more tasks; queued ones still run
  void join() { core_.join(); }            // after close(): waits for the tasks and workers
  void terminate() { core_.terminate(); }  // stops the workers now

 private:
  template <class R>
  static void finish_one(typename AsyncResult<R>::State& state, std::span<const std::byte> bytes,
                         std::exception_ptr error) {
    using Stored = detail::Returned<R>;
    if (error) return state.finish(std::nullopt, error);
    try {
      state.finish(detail::decode_payload<Stored>(bytes), nullptr);
    } catch (...) {
      state.finish(std::nullopt, std::current_exception());
    }
  }

  template <class F, class Item, bool Star>
  auto map_impl(F f, auto&& xs, std::size_t chunksize) {
    detail::check_pool_callable<F>();
    using Element = typename detail::MapElement<F, Item, Star>::type;
    static_assert(!std::is_same_v<Element, detail::Unit>,
                  "mp: Pool::map and starmap need a function that returns a value");
    std::vector<Item> items;
    for (auto&& x : xs) items.push_back(static_cast<Item>(x));
    const std::size_t n = items.size();
    if (chunksize == 0) {  // as Python: len / (4 * workers), rounded up
      const std::size_t per = 4 * core_.processes();
      chunksize = std::max<std::size_t>(1, (n + per - 1) / per);
    }
    AsyncResult<std::vector<Element>> result;
    struct Gather {
      std::mutex mutex;
      std::vector<Element> values;
      std::size_t chunks_left = 0;
      std::exception_ptr error;
    };
    auto gather = std::make_shared<Gather>();
    gather->values.resize(n);
    gather->chunks_left = (n + chunksize - 1) / chunksize;
    if (n == 0) result.state_->finish(std::vector<Element>{}, nullptr);
    for (std::size_t begin = 0; begin < n; begin += chunksize) {
      const std::size_t end = std::min(n, begin + chunksize);
      std::vector<Item> chunk(std::make_move_iterator(items.begin() + begin),
                              std::make_move_iterator(items.begin() + end));
      auto done = [gather, state = result.state_, begin, end](std::span<const std::byte> bytes,
                                                              std::exception_ptr e) {
        std::vector<Element> part;
        if (!e) {
          try {
            part = detail::decode_payload<std::vector<Element>>(bytes);
            if (part.size() != end - begin) throw ProtocolError("a map chunk came back short");
          } catch (...) {
            e = std::current_exception();
          }
        }
        std::lock_guard lock(gather->mutex);  // also for vector<bool>, whose bits share words
        if (!e) std::move(part.begin(), part.end(), gather->values.begin() + begin);
        if (e && !gather->error) gather->error = e;
        if (--gather->chunks_left != 0) return;
        if (gather->error) {
          state->finish(std::nullopt, gather->error);
        } else {
          state->finish(std::move(gather->values), nullptr);
        }
      };
      core_.submit(&detail::invoke_chunk<F, Item, Star>, detail::encode_chunk(f, std::move(chunk)),
                   std::move(done));
    }
    return result;
  }

  detail::PoolCore core_;
};

}  // namespace mp
