// mp/futures.hpp — the result of a task submitted to a ProcessPoolExecutor, as Python's
// concurrent.futures.Future, with wait() and as_completed().
//
//   mp::Future<int> f = executor.submit(square, 5);
//   f.add_done_callback([](mp::Future<int>& done) { ... });   // see add_done_callback
//   int v = f.result(std::chrono::seconds(5));                 // TimeoutError after 5 s
//
//   for (auto& f : mp::as_completed(futures)) use(f.result());  // in the order they finish
//   auto [done, not_done] = mp::wait(futures, std::chrono::seconds(1),
//                                    mp::ReturnWhen::first_completed);
//
// A Future is a handle: copies share the state. It is pending, then running (handed to a
// worker), then finished; or cancelled, which only a pending one can be.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/detail/result_reader.hpp"
#include "mp/detail/task.hpp"
#include "mp/errors.hpp"

namespace mp {

namespace detail {
template <class Executor>
class ExecutorFront;  // makes and finishes futures (mp/detail/executor_front.hpp)
}
template <class T>
class AsyncResult;  // Pool's results, over a Future's state (mp/pool.hpp)

template <class T>
class Future {
 public:
  // An empty future, to fill a container: every call but valid() and assignment throws
  // ValueError until a real one is assigned.
  using value_type = T;
  Future() = default;
  bool valid() const noexcept { return state_ != nullptr; }
  // Copies are the same future: equal, with equal hashes (std::hash), as Python's futures in a
  // dict or set.
  friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_ == b.state_; }

  // Waits; returns the value or rethrows the task's exception (CancelledError if cancelled).
  T result() const {
    wait_done(std::nullopt);
    return value();
  }
  template <class Rep, class Period>
  T result(std::chrono::duration<Rep, Period> timeout) const {
    if (!wait_done(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))) {
      throw TimeoutError("the future has not finished");
    }
    return value();
  }
  // Waits; the task's exception, or nullptr if it succeeded. CancelledError if cancelled.
  std::exception_ptr exception() const {
    wait_done(std::nullopt);
    std::lock_guard lock(s().mutex);
    if (s().status == Status::cancelled) throw CancelledError("the future was cancelled");
    return s().error;
  }

  bool done() const { return status() >= Status::finished; }
  bool running() const { return status() == Status::running; }
  bool cancelled() const { return status() == Status::cancelled; }

  // Cancels a future that no worker has taken yet; true if it is (now) cancelled.
  bool cancel() {
    std::vector<Callback> callbacks;
    {
      std::lock_guard lock(s().mutex);
      if (s().status == Status::cancelled) return true;
      if (s().status != Status::pending) return false;
      s().status = Status::cancelled;
      callbacks.swap(s().callbacks);
    }
    s().cv.notify_all();
    run(callbacks);
    return true;
  }

  // `cb(future)` once the future is done (at once, on this thread, if it is); a pool's future
  // runs it on the pool's thread, as Python runs it on the executor's, also when a thread waiting
  // for a result read this one (detail::ResultReader::defer). An exception from a callback is
  // ignored, as in Python (which logs it).
  void add_done_callback(std::function<void(Future&)> cb) {
    {
      std::lock_guard lock(s().mutex);
      if (s().status < Status::finished) {
        s().callbacks.push_back(std::move(cb));
        return;
      }
    }
    Future self(state_);
    try {
      cb(self);
    } catch (...) {
    }
  }

  // Waits until done; true once it is (for wait() and as_completed()). A pool's future reads
  // the pool's results itself meanwhile, when no other thread does (detail::ResultReader).
  bool wait_done(std::optional<std::chrono::nanoseconds> timeout) const {
    State& st = s();
    detail::ResultReader::Deadline deadline;
    if (timeout) deadline = std::chrono::steady_clock::now() + *timeout;
    if (auto reader = st.reader.lock()) {
      reader->read_until(
          [](const void* state) {
            auto& one = *static_cast<const State*>(state);
            std::lock_guard lock(one.mutex);
            return one.status >= Status::finished;
          },
          &st, deadline);
    }
    std::unique_lock lock(st.mutex);
    auto is_done = [&] { return st.status >= Status::finished; };
    if (!deadline) {
      st.cv.wait(lock, is_done);
      return true;
    }
    return st.cv.wait_until(lock, *deadline, is_done);
  }

 private:
  template <class>
  friend class detail::ExecutorFront;
  template <class>
  friend class AsyncResult;
  enum class Status { pending, running, finished, cancelled };
  using Callback = std::function<void(Future&)>;
  struct State {
    mutable std::mutex mutex;
    std::condition_variable cv;
    Status status = Status::pending;
    std::optional<detail::Returned<T>> value;
    std::exception_ptr error;
    std::vector<Callback> callbacks;
    std::weak_ptr<detail::ResultReader> reader;  // a pool's: see wait_done
  };

  explicit Future(std::in_place_t, std::weak_ptr<detail::ResultReader> reader = {})
      : state_(std::make_shared<State>()) {
    state_->reader = std::move(reader);
  }
  explicit Future(std::shared_ptr<State> s) : state_(std::move(s)) {}
  template <class>
  friend struct std::hash;

  State& s() const {
    if (!state_) throw ValueError("mp::Future: empty (default-constructed, never assigned a task)");
    return *state_;
  }

  Status status() const {
    std::lock_guard lock(s().mutex);
    return s().status;
  }

  // pending -> running; false if it was cancelled meanwhile.
  bool set_running() {
    std::lock_guard lock(state_->mutex);
    if (state_->status != Status::pending) return false;
    state_->status = Status::running;
    return true;
  }

  void finish(std::optional<detail::Returned<T>> v, std::exception_ptr e) {
    std::vector<Callback> callbacks;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->status >= Status::finished) return;
      state_->value = std::move(v);
      state_->error = std::move(e);
      state_->status = Status::finished;
      callbacks.swap(state_->callbacks);
    }
    state_->cv.notify_all();
    if (callbacks.empty()) return;
    if (auto* reader = detail::ResultReader::delivering()) {
      // Read by a thread waiting for some result: the pool's thread runs them (add_done_callback).
      reader->defer(
          [self = *this, callbacks = std::move(callbacks)]() mutable { self.run(callbacks); });
      return;
    }
    run(callbacks);
  }

  void run(std::vector<Callback>& callbacks) {
    Future self(state_);
    for (auto& cb : callbacks) {
      try {
        cb(self);
      } catch (...) {
      }
    }
  }

  T value() const {
    std::lock_guard lock(s().mutex);
    if (state_->status == Status::cancelled) throw CancelledError("the future was cancelled");
    if (state_->error) std::rethrow_exception(state_->error);
    if constexpr (!std::is_void_v<T>) return *state_->value;
  }

  std::shared_ptr<State> state_;
};

enum class ReturnWhen { first_completed, first_exception, all_completed };

template <class T>
struct WaitResult {
  std::vector<Future<T>> done;
  std::vector<Future<T>> not_done;
};

namespace detail {
template <class T>
WaitResult<T> wait_futures(const std::vector<Future<T>>& futures,
                           std::optional<std::chrono::nanoseconds> timeout, ReturnWhen when) {
  struct Signal {
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t finished = 0;
    bool failed = false;
  };
  auto signal = std::make_shared<Signal>();
  for (auto f : futures) {
    f.add_done_callback([signal](Future<T>& done) {
      const bool failed = !done.cancelled() && done.exception() != nullptr;
      {
        std::lock_guard lock(signal->mutex);
        ++signal->finished;
        signal->failed = signal->failed || failed;
      }
      signal->cv.notify_all();
    });
  }
  auto satisfied = [&] {
    if (signal->finished == futures.size()) return true;
    if (when == ReturnWhen::first_completed) return signal->finished > 0;
    if (when == ReturnWhen::first_exception) return signal->failed;
    return false;
  };
  {
    std::unique_lock lock(signal->mutex);
    if (timeout) {
      signal->cv.wait_for(lock, *timeout, satisfied);
    } else {
      signal->cv.wait(lock, satisfied);
    }
  }
  WaitResult<T> out;
  for (const auto& f : futures) (f.done() ? out.done : out.not_done).push_back(f);
  return out;
}
}  // namespace detail

template <class Range>
using FutureOf = std::ranges::range_value_t<Range>;

// Waits until `when` holds for `futures` (any range of Futures: a vector, a set, the keys of a
// map), or the timeout passes; splits them into done and not done.
template <std::ranges::input_range Range, class T = typename FutureOf<Range>::value_type>
WaitResult<T> wait(const Range& futures, ReturnWhen when = ReturnWhen::all_completed) {
  return detail::wait_futures(
      std::vector<Future<T>>(std::ranges::begin(futures), std::ranges::end(futures)), std::nullopt,
      when);
}
template <std::ranges::input_range Range, class Rep, class Period,
          class T = typename FutureOf<Range>::value_type>
WaitResult<T> wait(const Range& futures, std::chrono::duration<Rep, Period> timeout,
                   ReturnWhen when = ReturnWhen::all_completed) {
  return detail::wait_futures(
      std::vector<Future<T>>(std::ranges::begin(futures), std::ranges::end(futures)),
      std::chrono::duration_cast<std::chrono::nanoseconds>(timeout), when);
}

// The futures in the order they finish, as an input range (of copies: a future is a handle);
// each step waits for the next one to finish. With a timeout, a step throws TimeoutError once
// it has passed since as_completed() was called (Python's as_completed(fs, timeout)).
template <class T>
class AsCompleted {
 public:
  AsCompleted(std::vector<Future<T>> futures,
              std::optional<std::chrono::steady_clock::time_point> deadline)
      : futures_(std::move(futures)), deadline_(deadline) {
    auto order = order_;
    for (std::size_t i = 0; i < futures_.size(); ++i) {
      futures_[i].add_done_callback([order, i](Future<T>&) {
        {
          std::lock_guard lock(order->mutex);
          order->finished.push_back(i);
        }
        order->cv.notify_all();
      });
    }
  }

  class iterator {
   public:
    using value_type = Future<T>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Future<T>& operator*() const { return owner_->futures_[index_]; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    bool operator==(std::default_sentinel_t) const { return owner_ == nullptr; }

   private:
    friend class AsCompleted;
    explicit iterator(AsCompleted* owner) : owner_(owner) { advance(); }
    void advance() {
      if (owner_->taken_ == owner_->futures_.size()) {
        owner_ = nullptr;
        return;
      }
      auto& order = *owner_->order_;
      std::unique_lock lock(order.mutex);
      auto ready = [&] { return order.finished.size() > owner_->taken_; };
      if (!owner_->deadline_) {
        order.cv.wait(lock, ready);
      } else if (!order.cv.wait_until(lock, *owner_->deadline_, ready)) {
        throw TimeoutError(std::to_string(owner_->futures_.size() - owner_->taken_) + " (of " +
                           std::to_string(owner_->futures_.size()) +
                           ") futures unfinished when the timeout passed");
      }
      index_ = order.finished[owner_->taken_++];
    }
    AsCompleted* owner_ = nullptr;
    std::size_t index_ = 0;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  struct Order {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::size_t> finished;
  };
  std::vector<Future<T>> futures_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::shared_ptr<Order> order_ = std::make_shared<Order>();
  std::size_t taken_ = 0;
};

template <std::ranges::input_range Range, class T = typename FutureOf<Range>::value_type>
AsCompleted<T> as_completed(const Range& futures) {
  return AsCompleted<T>(
      std::vector<Future<T>>(std::ranges::begin(futures), std::ranges::end(futures)), std::nullopt);
}
template <std::ranges::input_range Range, class Rep, class Period,
          class T = typename FutureOf<Range>::value_type>
AsCompleted<T> as_completed(const Range& futures, std::chrono::duration<Rep, Period> timeout) {
  return AsCompleted<T>(
      std::vector<Future<T>>(std::ranges::begin(futures), std::ranges::end(futures)),
      std::chrono::steady_clock::now() +
          std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
}

}  // namespace mp

template <class T>
struct std::hash<mp::Future<T>> {
  std::size_t operator()(const mp::Future<T>& f) const noexcept {
    return std::hash<const void*>()(f.state_.get());
  }
};
