// services/result_reading.cpp — who reads a pool's result queue (see the header).
#include "services/result_reading.hpp"

#include <algorithm>
#include <exception>

namespace mp::detail {

namespace {

// How long the pool's thread waits for a reader to let go of the result queue, to read what a
// worker that died sent before it died.
constexpr auto kDrainWait = std::chrono::milliseconds(200);

thread_local const char t_reader_id = 0;  // its address names this thread as a reader

}  // namespace

// --- a waiting caller ----------------------------------------------------------------------------

bool ResultReading::read_until(Ready ready, const void* context, Deadline deadline) {
  if (t_pool_thread || stop_.load()) return false;
  if (ready(context)) return true;  // delivered already: no need to take the queue over
  const void* none = nullptr;
  if (!reader_.compare_exchange_strong(none, &t_reader_id)) return false;
  struct Leave {
    ResultReading& r;
    ResultReader* outer = t_delivering;  // a reader of another pool, when nested
    ~Leave() {
      t_delivering = outer;
      r.stop_reading();
    }
  } leave{*this};
  t_delivering = this;
  results_.wake_getters();  // the pool's thread, if it waits there, lets go of the queue
  struct Watch {
    Ready ready;
    const void* context;
    const ResultReading* reading;
  } watch{ready, context, this};
  auto give_way = [](const void* w) {
    const auto& look = *static_cast<const Watch*>(w);
    return look.ready(look.context) || look.reading->wants_lock_.load() ||
           look.reading->stop_.load();
  };
  try {
    while (!ready(context) && !stop_.load()) {
      const auto now = std::chrono::steady_clock::now();
      if (deadline && now >= *deadline) break;
      if (wants_lock_.load()) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, kPoll, [&] { return !wants_lock_.load(); });
        continue;
      }
      // In slices: a future cancelled meanwhile rings no bell here.
      auto slice = std::chrono::nanoseconds(kPoll);
      if (deadline) slice = std::min(slice, std::chrono::nanoseconds(*deadline - now));
      deliver_one(slice, give_way, &watch);
    }
  } catch (const std::exception&) {
    return false;  // the pool's thread meets it too, and reports it
  }
  return true;
}

void ResultReading::defer(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (!stop_.load()) {
      hand_over_locked(std::move(job));
      return;
    }
  }
  job();  // the pool's thread has stopped: see PoolCore::State::finish
}

// --- the pool's thread ---------------------------------------------------------------------------

// Relaxed: it only ends a wait early; the next read_or_park looks again.
bool ResultReading::reader_came(const void* self) {
  const auto& r = *static_cast<const ResultReading*>(self);
  return r.reader_.load(std::memory_order_relaxed) != nullptr ||
         r.stop_.load(std::memory_order_relaxed);
}

void ResultReading::park() {
  std::unique_lock lock(mutex_);
  auto wanted = [&] {
    return stop_.load() || !handed_.empty() || (reader_.load() == nullptr && awaited_.load() != 0);
  };
  if (wanted()) return;
  parked_ = true;
  cv_.wait_for(lock, kPoll, wanted);
  parked_ = false;
}

void ResultReading::read_now() {
  if (reader_.load() != nullptr) return;
  while (deliver_one(std::chrono::nanoseconds(0), reader_came, this)) {
  }
}

// Waits up to kDrainWait for a reader to let go of the queue.
void ResultReading::drain() {
  // Let go also when a read throws (the loop reports it and goes on): a wants_lock_ left set
  // would keep every reader waiting for it, and the pool's thread parked behind them.
  struct LetGo {
    ResultReading& r;
    ~LetGo() {
      {
        std::lock_guard lock(r.mutex_);
        r.wants_lock_.store(false);
      }
      r.cv_.notify_all();
    }
  };
  wants_lock_.store(true);
  LetGo let_go{*this};
  results_.wake_getters();
  const QueueCore::GiveWay no_wait_for_more = [](const void*) { return true; };
  while (deliver_one(kDrainWait, no_wait_for_more, nullptr)) {
  }
}

void ResultReading::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  results_.wake_getters();  // a reader lets go
}

}  // namespace mp::detail
