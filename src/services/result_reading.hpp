// services/result_reading.hpp — who reads a pool's result queue, and on which thread a result's
// Done runs.
//
// The pool's thread reads the queue while nobody waits for a result. A caller waiting in get() or
// result() takes the role over (read_until, ResultReader): its own result then costs one wake-up
// instead of two. Meanwhile the pool's thread parks and only looks after the workers; what must
// run on it (Delivery::pool_thread Dones, a Future's callbacks) is handed to it. It takes the queue
// back for a moment (drain) to read what a dead worker sent before it died.
//
// Apart from services/pool_core.cpp because this handshake between the two readers is the
// subtle part of the pool, and reads best alone. The pool keeps what a result means (its Done,
// WorkerCrashed) and when join() may return; it shares its mutex with the role, so that a task
// leaves `pending` and joins the handed jobs in one step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

#include "mp/detail/queue_core.hpp"
#include "mp/detail/result_reader.hpp"

namespace mp::detail {

class ResultReading final : public ResultReader {
 public:
  // The longest a reader reads before it looks again at what rings no bell on the queue (a
  // future cancelled, the pool's thread wanting the queue), and the longest the pool's thread
  // parks before it looks after the workers.
  static constexpr auto kPoll = std::chrono::milliseconds(20);

  // `mutex` is the pool's (it guards `pending` too). `sink` and `body_sink` take each result read
  // (QueueCore::get), with `context`: they read it where it lies in the queue, under the queue's
  // get lock.
  ResultReading(QueueCore& results, std::mutex& mutex, QueueCore::Sink sink,
                QueueCore::BodySink body_sink, void* context) noexcept
      : results_(results), mutex_(mutex), sink_(sink), body_sink_(body_sink), context_(context) {}

  // Whether this thread is a pool's thread (any pool's): it never reads as a caller (a callback's
  // apply() wakes the other pool's thread to read its result).
  static bool on_pool_thread() noexcept { return t_pool_thread; }

  // --- a waiting caller (ResultReader) ---------------------------------------------------------

  bool read_until(Ready ready, const void* context, Deadline deadline) override;
  void defer(std::function<void()> job) override;

  // --- the pool, under its mutex ---------------------------------------------------------------

  // How many tasks wait for their result (the pool's `pending`), after each change to it: the
  // pool's thread reads only while some do, and reads the count without the mutex.
  void set_awaited(std::size_t n) noexcept { awaited_.store(n); }

  // A task was queued. Parked with nothing to read, the pool's thread reads from now on; not for
  // a caller about to read its result itself (should it not, the thread looks within kPoll).
  void task_queued(bool caller_reads) {
    if (parked_ && !caller_reads && reader_.load() == nullptr) cv_.notify_all();
  }

  // Runs `job` on the pool's thread, soon (a result read by a caller whose Done must run there).
  // Once stopped(), only what terminate() finds is run: the caller checks first.
  void hand_over_locked(std::function<void()> job) {
    handed_.push_back(std::move(job));
    cv_.notify_all();
  }
  // The same, not under the mutex.
  void hand_over(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    hand_over_locked(std::move(job));
  }

  bool nothing_handed() const noexcept { return handed_.empty(); }

  // --- the pool's thread -----------------------------------------------------------------------

  static void become_pool_thread() noexcept { t_pool_thread = true; }
  bool stopped() const noexcept { return stop_.load(); }

  // Reads results as they come, for up to kPoll, unless a caller reads them or none is awaited:
  // then waits for that to change, for a job handed over, or at most kPoll.
  void read_or_park();
  // Reads the results there now, also those nobody waits for (an initializer's failure), unless a
  // caller reads them.
  void read_now();
  // Reads the results there now, also while a caller reads: that caller lets go of the queue
  // meanwhile (wants_lock_), for which this waits a bounded time.
  void drain();
  // Runs one job handed over; false if there was none.
  bool run_one_handed();
  // A caller reading for a task that has just failed without a result looks again.
  void wake_reader() noexcept {
    if (reader_.load() != nullptr) results_.wake_getters();
  }

  // From join() or terminate(): the pool's thread leaves its loop, a caller the queue. From now on
  // nobody takes the role, and what would be handed over runs where it is.
  void stop();

 private:
  // Hands one result, if one comes within `timeout`, to the pool's sink; false if none came (or
  // `give_way` said to stop waiting).
  bool deliver_one(std::chrono::nanoseconds timeout, QueueCore::GiveWay give_way,
                   const void* give_way_context);
  static bool reader_came(const void* self);  // QueueCore::GiveWay for the pool's thread
  void stop_reading();
  void park();

  static inline thread_local bool t_pool_thread = false;

  QueueCore& results_;
  std::mutex& mutex_;  // guards handed_, parked_
  QueueCore::Sink sink_;
  QueueCore::BodySink body_sink_;
  void* context_;

  std::condition_variable cv_;  // the pool's thread parks on it; a reader waits for wants_lock_
  std::deque<std::function<void()>> handed_;  // read by a caller, to be run on the pool's thread
  bool parked_ = false;                       // the pool's thread waits on cv_
  std::atomic<std::size_t> awaited_{0};       // see set_awaited
  std::atomic<bool> stop_{false};
  // The thread reading results in place of the pool's thread (its t_reader_id); null: none.
  std::atomic<const void*> reader_{nullptr};
  // The pool's thread needs the result queue: a reader lets go of it until this is false.
  std::atomic<bool> wants_lock_{false};
};

// Inline, as the rest of the pool's side of a round trip: each runs once per result or round trip.

inline bool ResultReading::deliver_one(std::chrono::nanoseconds timeout,
                                       QueueCore::GiveWay give_way, const void* give_way_context) {
  return results_.get(sink_, context_, timeout, body_sink_, give_way, give_way_context);
}

inline void ResultReading::stop_reading() {
  std::lock_guard lock(mutex_);
  reader_.store(nullptr);
  if (parked_ && awaited_.load() != 0) cv_.notify_all();
}

inline void ResultReading::read_or_park() {
  if (reader_.load() == nullptr && awaited_.load(std::memory_order_relaxed) != 0) {
    deliver_one(kPoll, reader_came, this);
  } else {
    park();
  }
}

inline bool ResultReading::run_one_handed() {
  std::function<void()> job;
  {
    std::lock_guard lock(mutex_);
    if (handed_.empty()) return false;
    job = std::move(handed_.front());
    handed_.pop_front();
  }
  job();
  // A reader waiting for what that job finished looks again (it sleeps on the queue).
  wake_reader();
  return true;
}

}  // namespace mp::detail
