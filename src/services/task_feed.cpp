// services/task_feed.cpp — an executor's pending tasks, handed to its workers as room frees up.
#include "mp/detail/task_feed.hpp"

#include <atomic>
#include <exception>
#include <utility>

#include "mp/errors.hpp"

namespace mp::detail {

void TaskFeed::push(PendingTask task) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) throw Error("cannot schedule new futures after shutdown");
    queue_.push_back(std::move(task));
  }
  feed();
}

bool TaskFeed::hand_over_now(const std::function<bool()>& start, TaskDone done,
                             const std::function<void(TaskDone)>& hand_over) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) throw Error("cannot schedule new futures after shutdown");
    const std::size_t window = sink_.window();
    if (window == 0 || in_flight_ >= window || !queue_.empty()) return false;
    if (!start()) return true;  // cancelled already: nothing to run
    ++in_flight_;
  }
  auto freed = std::make_shared<std::atomic<bool>>(false);
  try {
    hand_over(counted(std::move(done), freed));
  } catch (...) {
    // Unless the pool failed the task (its `done` ran) before the hand-over threw.
    if (!freed->exchange(true)) free_place();
    feed();  // a task pushed meanwhile may now go
    throw;
  }
  return true;
}

void TaskFeed::free_place() {
  std::lock_guard lock(mutex_);
  --in_flight_;
}

TaskDone TaskFeed::counted(TaskDone done, std::shared_ptr<std::atomic<bool>> freed) {
  return [self = shared_from_this(), d = std::move(done), freed = std::move(freed)](
             std::span<const std::byte> bytes, std::exception_ptr e) {
    if (freed->exchange(true)) return;  // the hand-over threw, freed the place, reported it
    d(bytes, e);
    self->free_place();
    self->feed();
  };
}

void TaskFeed::close(bool cancel_pending) {
  std::deque<PendingTask> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (cancel_pending) dropped.swap(queue_);
  }
  for (auto& task : dropped) task.cancel();
  std::lock_guard lock(mutex_);
  if (queue_.empty() && in_flight_ == 0) drained_.notify_all();
}

void TaskFeed::wait_drained() {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [&] { return queue_.empty() && in_flight_ == 0; });
}

void TaskFeed::feed() {
  for (;;) {
    PendingTask task;
    bool serving = true;
    {
      std::lock_guard lock(mutex_);
      const std::size_t window = sink_.window();
      serving = window > 0;
      if ((serving && in_flight_ >= window) || queue_.empty()) {
        if (queue_.empty() && in_flight_ == 0) drained_.notify_all();
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
      if (!task.start()) continue;  // cancelled while pending
      if (serving) ++in_flight_;
    }
    if (!serving) {
      task.done({}, sink_.gone());
      continue;
    }
    auto freed = std::make_shared<std::atomic<bool>>(false);
    try {
      // A copy of `done`: should the hand-over throw, `task.done` still reports it.
      sink_.hand_over(task.invoker, std::move(task.payload), counted(task.done, freed));
    } catch (...) {
      // Unless the pool failed the task (its `done` ran) before the hand-over threw.
      if (!freed->exchange(true)) {
        free_place();
        task.done({}, std::current_exception());
      }
    }
  }
}

}  // namespace mp::detail
