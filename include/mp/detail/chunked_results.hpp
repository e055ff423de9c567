// mp/detail/chunked_results.hpp — lazy ranges over results that arrive in chunks: in order
// (Pool::imap, ProcessPoolExecutor::map) or as they come (Pool::imap_unordered).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace mp::detail {

// An input iterator over values that come a chunk at a time from `Source`, whose
// next(std::vector<R>&) fills the next chunk (waiting for it, or throwing its error) and returns
// false when there are no more.
template <class R, class Source>
class ChunkIterator {
 public:
  using value_type = R;
  using difference_type = std::ptrdiff_t;
  ChunkIterator() = default;
  explicit ChunkIterator(Source* source) : source_(source) { settle(); }
  const R& operator*() const { return current_[index_]; }
  ChunkIterator& operator++() {
    ++index_;
    settle();
    return *this;
  }
  void operator++(int) { ++*this; }
  bool operator==(std::default_sentinel_t) const { return source_ == nullptr; }

 private:
  void settle() {  // on to the next chunk once this one is used up
    while (index_ == current_.size()) {
      if (!source_->next(current_)) {
        source_ = nullptr;
        return;
      }
      index_ = 0;
    }
  }
  Source* source_ = nullptr;
  std::vector<R> current_;
  std::size_t index_ = 0;
};

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

// Iterating waits for each chunk in turn (`Take(chunk, deadline)` returns its values, or throws
// its error, or TimeoutError once the deadline has passed).
template <class Chunk, class R, auto Take>
class OrderedResults {
 public:
  explicit OrderedResults(std::vector<Chunk> chunks, Deadline deadline = std::nullopt)
      : chunks_(std::move(chunks)), deadline_(deadline) {}
  ChunkIterator<R, OrderedResults> begin() { return ChunkIterator<R, OrderedResults>(this); }
  std::default_sentinel_t end() const { return {}; }

  bool next(std::vector<R>& out) {
    if (next_ == chunks_.size()) return false;
    out = Take(chunks_[next_++], deadline_);
    return true;
  }

 private:
  std::vector<Chunk> chunks_;
  std::size_t next_ = 0;
  Deadline deadline_;
};

// What is left until `deadline`, for a wait bounded by it.
inline std::chrono::nanoseconds left_until(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::nanoseconds(0), deadline - std::chrono::steady_clock::now());
}

// Where chunks land as they finish, for UnorderedResults.
template <class R>
struct Arrivals {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::vector<R>> ready;
  std::deque<std::exception_ptr> errors;
  std::size_t outstanding = 0;  // chunks not yet arrived

  void arrive(std::vector<R> values, std::exception_ptr error) {
    {
      std::lock_guard lock(mutex);
      if (error) {
        errors.push_back(std::move(error));
      } else {
        ready.push_back(std::move(values));
      }
      --outstanding;
    }
    cv.notify_all();
  }
};

// Iterating yields values in the order their chunks finish; a failed chunk rethrows when its
// turn comes.
template <class R>
class UnorderedResults {
 public:
  explicit UnorderedResults(std::shared_ptr<Arrivals<R>> arrivals)
      : arrivals_(std::move(arrivals)) {}
  ChunkIterator<R, UnorderedResults> begin() { return ChunkIterator<R, UnorderedResults>(this); }
  std::default_sentinel_t end() const { return {}; }

  bool next(std::vector<R>& out) {
    Arrivals<R>& a = *arrivals_;
    std::unique_lock lock(a.mutex);
    a.cv.wait(lock, [&] { return !a.ready.empty() || !a.errors.empty() || a.outstanding == 0; });
    if (!a.errors.empty()) {
      auto error = std::move(a.errors.front());
      a.errors.pop_front();
      std::rethrow_exception(error);
    }
    if (a.ready.empty()) return false;
    out = std::move(a.ready.front());
    a.ready.pop_front();
    return true;
  }

 private:
  std::shared_ptr<Arrivals<R>> arrivals_;
};

}  // namespace mp::detail
