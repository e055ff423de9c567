// mp/detail/task_feed.hpp — an executor's tasks waiting for room with its workers.
//
// As in Python's ProcessPoolExecutor, only a window of tasks is handed to the workers (local
// processes or MPI ranks) at a time; the others wait here, pending, so that
// shutdown(cancel_futures) can still cancel them. Each task handed over comes back through its
// `done`, which makes room for the next.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "mp/detail/task.hpp"

namespace mp::detail {

// Called once per task, with the result's bytes or the error.
using TaskDone = std::function<void(std::span<const std::byte> result, std::exception_ptr error)>;
// Writes a task's payload (encode_call_into) into `ar`, from `context`.
using EncodeCall = void (*)(const void* context, OutputArchive& ar);

struct PendingTask {
  Invoker invoker;
  std::vector<std::byte> payload;  // encode_call/encode_chunk, with kTaskHeaderSpace in front
  std::function<bool()> start;     // pending -> running; false if it was cancelled
  std::function<void()> cancel;    // for close(cancel_pending)
  TaskDone done;
};

// Where the tasks go.
struct TaskSink {
  // How many tasks the workers may hold at once now; 0: no worker serves any more, and a task
  // fails with gone()'s error instead of waiting forever.
  std::function<std::size_t()> window;
  // Hands a task over; `done` must run once. May throw: the task then fails with the error.
  std::function<void(Invoker, std::vector<std::byte>, TaskDone)> hand_over;
  std::function<std::exception_ptr()> gone;
};

class TaskFeed : public std::enable_shared_from_this<TaskFeed> {
 public:
  explicit TaskFeed(TaskSink sink) : sink_(std::move(sink)) {}

  // Queues a task and hands over what the window allows. Throws Error after close().
  void push(PendingTask task);
  // When no task waits and the window has room, a new task goes straight to the workers, never
  // held encoded here: `start()` marks it running, then `hand_over(wrapped_done)` encodes it and
  // hands it over (what it throws propagates, and the task is then not counted); true. False
  // when it must wait: push() it then. Throws Error after close().
  bool hand_over_now(const std::function<bool()>& start, TaskDone done,
                     const std::function<void(TaskDone)>& hand_over);
  // No more tasks; with `cancel_pending`, those not handed over yet are cancelled.
  void close(bool cancel_pending);
  // Until every task queued has finished (or was cancelled).
  void wait_drained();

 private:
  void feed();
  void free_place();  // a task handed over has ended: the window has room for one more
  // `done` that also frees the task's place in the window and feeds the next one; unless
  // `freed` says the hand-over threw and did both (each sets it: a task ends once, whichever
  // comes first, as the pool may fail a task before its hand-over throws).
  TaskDone counted(TaskDone done, std::shared_ptr<std::atomic<bool>> freed);

  TaskSink sink_;
  std::mutex mutex_;
  std::condition_variable drained_;
  std::deque<PendingTask> queue_;
  std::size_t in_flight_ = 0;
  bool closed_ = false;
};

}  // namespace mp::detail
