// mp/detail/pool_core.hpp — the untyped pool under mp::Pool: workers, a task queue, a result
// queue, and the thread that matches results to callers and replaces workers that die.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "mp/context.hpp"
#include "mp/detail/result_reader.hpp"
#include "mp/detail/task.hpp"
#include "mp/pool_options.hpp"

namespace mp {

namespace detail {

class PoolCore {
 public:
  // Called once per task: with the result's bytes, or with the error (the task's exception
  // rebuilt, WorkerCrashed, or BrokenProcessPool on terminate).
  using Done = std::function<void(std::span<const std::byte> result, std::exception_ptr error)>;
  // Which thread runs a task's Done. The pool's thread reads results while nobody waits for one;
  // a thread waiting for a result reads them itself (reader(), detail::ResultReader).
  enum class Delivery {
    pool_thread,   // only the pool's: Done runs user code that Python runs there (callbacks)
    any_thread,    // whichever thread reads the result
    caller_waits,  // any thread; and the submitting thread waits for it at once (apply), so
                   // the pool's thread is not woken to read it
  };

  PoolCore(std::size_t processes, const PoolOptions& options);
  ~PoolCore();  // terminate()
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  // Queues a task: `payload` is the encoding made for it (encode_call with kTaskHeaderSpace,
  // encode_chunk), whose first kTaskHeaderSpace bytes the pool overwrites. Throws ValueError
  // once the pool is closed or terminated, and the task queue's errors (std::system_error);
  // when it throws, `done` is never called.
  void submit(Invoker invoker, std::vector<std::byte> payload, Done done,
              Delivery delivery = Delivery::pool_thread);
  // The same from bytes the caller keeps (Pool's map encodes each chunk into this thread's
  // encoding buffer): they are copied into the task queue before this returns.
  void submit(Invoker invoker, std::span<std::byte> payload, Done done,
              Delivery delivery = Delivery::pool_thread);
  // Writes a task's payload (what follows the pool's header) into `ar`.
  using EncodeTask = void (*)(const void* context, OutputArchive& ar);
  // The same, the payload encoded by `encode(context, ar)` straight into the task queue: a large
  // one into shared memory directly, never also held whole in a buffer and copied. Should
  // `encode` throw, nothing is queued and the exception propagates.
  void submit(Invoker invoker, EncodeTask encode, const void* context, Done done,
              Delivery delivery = Delivery::pool_thread);

  void close();      // no more tasks; those queued still run
  void join();       // after close(): waits for every task, then for the workers to exit
  void terminate();  // stops the workers now; unfinished tasks fail with BrokenProcessPool

  // Whether the result a Done is reading lies in a body of its own (a large one), whose pages
  // may be given back as they are read: decode_payload(result, PoolCore::result_in_body()).
  static bool result_in_body() noexcept;

  // For the pool's futures (Future's reader): lets their waiters read results.
  std::weak_ptr<ResultReader> reader() const noexcept;

  std::size_t processes() const noexcept;
  // Whether a worker's initializer failed: then every task fails with BrokenProcessPool.
  bool broken() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace detail
}  // namespace mp
