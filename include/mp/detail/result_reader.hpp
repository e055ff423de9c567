// mp/detail/result_reader.hpp — lets a thread that waits for a task's result read it itself.
//
// A pool's results come back on one queue, read by the pool's thread, which hands each to its
// Future and wakes the waiting caller: two wake-ups after the worker's put. A caller that waits
// can instead read the queue itself while it waits, delivering whatever comes (its own result,
// and others' to their futures): one wake-up, or none while both sides still spin.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace mp::detail {

class ResultReader {
 public:
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;
  using Ready = bool (*)(const void* context);

  // Reads and delivers results until `ready(context)` or the deadline. False at once when this
  // thread cannot read them (another thread does; this is the pool's thread; the pool has
  // ended): then the caller waits for its result to be delivered, as before.
  virtual bool read_until(Ready ready, const void* context, Deadline deadline) = 0;

  // The reader whose results this thread is delivering now (inside read_until), or null. A
  // Future finished there hands its callbacks (user code) to defer(): they run on the pool's
  // thread, as Python runs them on the executor's, not inside the wait of whichever thread
  // happened to read the result (where they would hold up its timeout, or lock what it holds).
  static ResultReader* delivering() noexcept { return t_delivering; }
  // Runs `job` on the pool's thread (on this one once that thread has stopped).
  virtual void defer(std::function<void()> job) = 0;

 protected:
  ~ResultReader() = default;
  static inline thread_local ResultReader* t_delivering = nullptr;
};

}  // namespace mp::detail
