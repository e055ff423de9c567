// mp/mpi.hpp — mpi4py.futures.MPIPoolExecutor: a ProcessPoolExecutor whose workers are the other
// ranks of an Open MPI job, on this host or on others (docs/mpi.md). Link mp::mpi.
//
//   int square(int n) { return n * n; }
//
//   int main(int argc, char** argv) {
//     mp::mpi::init(argc, argv);  // ranks 1..N-1 serve tasks here and never return
//     mp::mpi::PoolExecutor ex;   // rank 0: the program's work
//     mp::Future<int> f = ex.submit(square, 5);
//     for (int x : ex.map(square, std::vector{1, 2, 3})) std::cout << x << "\n";  // in order
//   }
//
//   $ mpirun -n 4 ./app        # one rank runs main, three serve
//
// Every rank runs the same binary, so a function travels by its code identity
// (mp/detail/code_ref.hpp), under the same rules as mp::Pool: function pointers, captureless
// lambdas, empty or encodable function objects; arguments and results through the codec. A task's
// exception comes back with its type (standard types) and its what(), to which the rank and host
// that ran it are appended. Several tasks are in flight on each rank (`tasks_per_rank`), sent
// and answered in batches, so that chunksize 1 is not bound by the network's latency.
#pragma once

#include <chrono>
#include <condition_variable>
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
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/map_items.hpp"
#include "mp/detail/task.hpp"
#include "mp/errors.hpp"
#include "mp/executor.hpp"
#include "mp/futures.hpp"

namespace mp::mpi {

// Initializes MPI (MPI_Init_thread); call it first in main, with main's arguments. On rank 0 it
// returns and the program goes on; MPI is finalized when the program exits (std::exit or a return
// from main), after the serving ranks have been told to stop. On every other rank it serves
// tasks until rank 0 finalizes, then finalizes MPI and calls std::exit(0): it never returns, so
// nothing after it runs there (as `python -m mpi4py.futures`). Throws ProcessError if MPI cannot
// run a communication thread beside the program's (MPI_THREAD_SERIALIZED).
void init(int& argc, char**& argv);

// Stops the serving ranks and finalizes MPI now instead of at exit (rank 0; every executor must
// have been shut down). No-op if not initialized or already finalized.
void finalize();

int rank();  // this process's rank in MPI_COMM_WORLD; 0 before init
int size();  // the number of ranks; 1 before init

// The ranks that serve tasks and have not been lost (ranks 1..size()-1 at start).
std::size_t workers();

struct Options {
  // Tasks handed to each rank at once, at most: those beyond wait on rank 0, pending
  // (cancellable). 0: as many as make about 5 ms of work at the pace of the rank's recent tasks
  // (2 for long tasks, up to 1024 for tiny ones).
  std::size_t tasks_per_rank = 0;
};

namespace detail {
using Done = std::function<void(std::span<const std::byte> result, std::exception_ptr error)>;
// Sends a task to a serving rank: `payload` is an encoded call with mp::detail::kTaskHeaderSpace
// unused bytes at its front, as encode_chunk leaves them (not sent). `done` runs once, on rank
// 0's communication thread, with the result's bytes or the error (the task's exception, or
// WorkerCrashed if its rank was lost).
void submit(mp::detail::Invoker invoker, std::vector<std::byte> payload, Done done);
// The tasks the live ranks take at once now, together (their windows follow their pace).
std::size_t capacity();
}  // namespace detail

class PoolExecutor {
 public:
  // On rank 0 after init(); throws ValueError when no rank serves (run under mpirun -n N, N >= 2).
  explicit PoolExecutor(const Options& options = {}) : state_(std::make_shared<State>(options)) {}
  ~PoolExecutor() { shutdown(true); }
  PoolExecutor(const PoolExecutor&) = delete;
  PoolExecutor& operator=(const PoolExecutor&) = delete;

  // f(args...) on a serving rank. Throws Error after shutdown().
  template <class F, class... Args>
  Future<std::invoke_result_t<F&, std::decay_t<Args>&...>> submit(F f, Args&&... args) {
    mp::detail::check_pool_callable<F>();
    using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
    auto payload =
        mp::detail::encode_call(f, std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...),
                                mp::detail::kTaskHeaderSpace);
    return enqueue<R>(&mp::detail::invoke_call<F, std::decay_t<Args>...>, std::move(payload));
  }

  // f(x) for each x of `xs`, in order, lazily: the tasks are submitted now (in chunks of
  // `chunksize` items), the results awaited as the returned range is iterated.
  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& xs, std::size_t chunksize = 1) {
    return map_impl(f, std::forward<Range>(xs), chunksize, std::nullopt);
  }
  // As map; iterating throws TimeoutError once `timeout` has passed since this call.
  template <class F, std::ranges::input_range Range, class Rep, class Period>
  auto map(F f, Range&& xs, std::chrono::duration<Rep, Period> timeout, std::size_t chunksize = 1) {
    return map_impl(f, std::forward<Range>(xs), chunksize,
                    std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  // No more submissions. With `wait`, returns once every task has finished; with
  // `cancel_futures`, the tasks not yet handed to a rank are cancelled. The ranks keep serving
  // (other executors may follow) until finalize() or the program's exit.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    std::deque<Item> dropped;
    {
      std::lock_guard lock(state_->mutex);
      state_->shut = true;
      if (cancel_futures) dropped.swap(state_->queue);
    }
    for (auto& item : dropped) item.cancel();
    if (!wait) return;
    std::unique_lock lock(state_->mutex);
    state_->drained.wait(lock, [&] { return state_->queue.empty() && state_->in_flight == 0; });
  }

 private:
  // A task not yet handed to a rank.
  struct Item {
    mp::detail::Invoker invoker;
    std::vector<std::byte> payload;
    std::function<bool()> start;   // pending -> running; false if cancelled
    std::function<void()> cancel;  // for shutdown(cancel_futures)
    detail::Done done;
  };

  struct State : std::enable_shared_from_this<State> {
    std::size_t fixed_window;  // tasks handed to the ranks at most at once; 0: their capacity()
    std::mutex mutex;
    std::condition_variable drained;
    std::deque<Item> queue;
    std::size_t in_flight = 0;
    bool shut = false;

    explicit State(const Options& o) : fixed_window(workers() * o.tasks_per_rank) {
      if (workers() == 0) {
        throw ValueError(
            "mp::mpi::PoolExecutor: no rank serves tasks (call mp::mpi::init first, and run "
            "under mpirun -n N with N >= 2)");
      }
    }

    // Hands pending tasks to the ranks while the window has room; skips cancelled ones.
    void feed() {
      for (;;) {
        Item item;
        bool serving = true;
        {
          std::lock_guard lock(mutex);
          // No rank left (all lost, or finalize() called): pending tasks would wait forever.
          serving = workers() > 0;
          const std::size_t window = fixed_window != 0 ? fixed_window : detail::capacity();
          if ((serving && in_flight >= window) || queue.empty()) {
            if (queue.empty() && in_flight == 0) drained.notify_all();
            return;
          }
          item = std::move(queue.front());
          queue.pop_front();
          if (!item.start()) continue;  // cancelled while pending
          if (serving) ++in_flight;
        }
        if (!serving) {
          item.done({}, std::make_exception_ptr(BrokenProcessPool(
                            "mp::mpi: no rank serves tasks any more (every serving rank was "
                            "lost, or mp::mpi::finalize() was called)")));
          continue;
        }
        // A copy of `done`: should the hand-over fail (after finalize()), `item.done` still
        // reports it, to this task's future.
        auto done = [self = shared_from_this(), d = item.done](std::span<const std::byte> bytes,
                                                               std::exception_ptr e) {
          d(bytes, e);
          {
            std::lock_guard lock(self->mutex);
            --self->in_flight;
          }
          self->feed();
        };
        try {
          detail::submit(item.invoker, std::move(item.payload), std::move(done));
        } catch (...) {
          {
            std::lock_guard lock(mutex);
            --in_flight;
          }
          item.done({}, std::current_exception());
        }
      }
    }
  };

  template <class F, class Range>
  auto map_impl(F f, Range&& xs, std::size_t chunksize, mp::detail::Deadline deadline) {
    mp::detail::check_pool_callable<F>();
    using X = std::ranges::range_value_t<Range>;
    using R = typename mp::detail::MapElement<F, X, false>::type;
    static_assert(!std::is_same_v<R, mp::detail::Unit>,
                  "mp: mpi::PoolExecutor::map needs a function that returns a value");
    if (chunksize == 0) throw ValueError("chunksize must be >= 1");
    mp::detail::MapItems<X> items(std::forward<Range>(xs));
    std::vector<Future<std::vector<R>>> chunks;
    for (std::size_t begin = 0; begin < items.size(); begin += chunksize) {
      const std::size_t end = std::min(items.size(), begin + chunksize);
      chunks.push_back(
          enqueue<std::vector<R>>(&mp::detail::invoke_chunk<F, X, false>,
                                  mp::detail::encode_chunk(f, items.take(begin, end))));
    }
    return MapResults<R>(std::move(chunks), deadline);
  }

  template <class R>
  Future<R> enqueue(mp::detail::Invoker invoker, std::vector<std::byte> payload) {
    Future<R> future(std::in_place);
    Item item{invoker, std::move(payload), [future]() mutable { return future.set_running(); },
              [future]() mutable { future.cancel(); },
              [future](std::span<const std::byte> bytes, std::exception_ptr e) mutable {
                if (e) return future.finish(std::nullopt, e);
                try {
                  future.finish(mp::detail::decode_payload<mp::detail::Returned<R>>(bytes),
                                nullptr);
                } catch (...) {
                  future.finish(std::nullopt, std::current_exception());
                }
              }};
    {
      std::lock_guard lock(state_->mutex);
      if (state_->shut) throw Error("cannot schedule new futures after shutdown");
      state_->queue.push_back(std::move(item));
    }
    state_->feed();
    return future;
  }

  std::shared_ptr<State> state_;
};

}  // namespace mp::mpi
