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

#include <cstddef>
#include <memory>
#include <vector>

#include "mp/detail/executor_front.hpp"
#include "mp/detail/progress_reporter.hpp"
#include "mp/detail/task.hpp"
#include "mp/detail/task_feed.hpp"
#include "mp/errors.hpp"
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
// Sends a task to a serving rank: `payload` is an encoded call with mp::detail::kTaskHeaderSpace
// unused bytes at its front, as encode_chunk leaves them (not sent). `done` runs once, on rank
// 0's communication thread, with the result's bytes or the error (the task's exception, or
// WorkerCrashed if its rank was lost).
void submit(mp::detail::Invoker invoker, std::vector<std::byte> payload, mp::detail::TaskDone done);
// The tasks the live ranks take at once now, together (their windows follow their pace).
std::size_t capacity();
}  // namespace detail

class PoolExecutor : public mp::detail::ExecutorFront<PoolExecutor> {
 public:
  // On rank 0 after init(); throws ValueError when no rank serves (run under mpirun -n N, N >= 2).
  explicit PoolExecutor(const Options& options = {});
  ~PoolExecutor() { shutdown(true); }
  PoolExecutor(const PoolExecutor&) = delete;
  PoolExecutor& operator=(const PoolExecutor&) = delete;

  // submit(f, args...) on a serving rank, and map(f, xs[, timeout][, chunksize]), as
  // ProcessPoolExecutor's (mp/detail/executor_front.hpp).

  // No more submissions. With `wait`, returns once every task has finished; with
  // `cancel_futures`, the tasks not yet handed to a rank are cancelled. The ranks keep serving
  // (other executors may follow) until finalize() or the program's exit.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    feed_->close(cancel_futures);
    if (wait) feed_->wait_drained();
  }

 private:
  friend class mp::detail::ExecutorFront<PoolExecutor>;
  mp::detail::TaskFeed& feed() { return *feed_; }
  std::weak_ptr<mp::detail::ResultReader> result_reader() const { return {}; }
  void check_open() {}
  std::shared_ptr<mp::detail::ProgressReporter> map_progress(std::size_t) { return nullptr; }

  std::shared_ptr<mp::detail::TaskFeed> feed_;
};

}  // namespace mp::mpi
