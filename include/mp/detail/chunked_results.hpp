// mp/detail/chunked_results.hpp — lazy ranges over results that arrive in chunks: in order
// (Pool::imap, ProcessPoolExecutor::map) or as they come (Pool::imap_unordered).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace mp::detail {

// Iterating waits for each chunk in turn (`take(chunk)` returns its values or throws).
template <class Chunk, class R, auto Take>
class OrderedResults {
 public:
  explicit OrderedResults(std::vector<Chunk> chunks) : chunks_(std::move(chunks)) {}

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const R& operator*() const { return current_[index_]; }
    iterator& operator++() {
      ++index_;
      settle();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return owner_ == nullptr; }

   private:
    friend class OrderedResults;
    explicit iterator(OrderedResults* owner) : owner_(owner) { settle(); }
    void settle() {  // on to the next chunk once this one is used up
      while (index_ == current_.size()) {
        if (next_ == owner_->chunks_.size()) {
          owner_ = nullptr;
          return;
        }
        current_ = Take(owner_->chunks_[next_++]);
        index_ = 0;
      }
    }
    OrderedResults* owner_ = nullptr;
    std::size_t next_ = 0;
    std::vector<R> current_;
    std::size_t index_ = 0;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  std::vector<Chunk> chunks_;
};

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

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const R& operator*() const { return current_[index_]; }
    iterator& operator++() {
      ++index_;
      settle();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return arrivals_ == nullptr; }

   private:
    friend class UnorderedResults;
    explicit iterator(Arrivals<R>* arrivals) : arrivals_(arrivals) { settle(); }
    void settle() {
      while (index_ == current_.size()) {
        std::unique_lock lock(arrivals_->mutex);
        arrivals_->cv.wait(lock, [&] {
          return !arrivals_->ready.empty() || !arrivals_->errors.empty() ||
                 arrivals_->outstanding == 0;
        });
        if (!arrivals_->errors.empty()) {
          auto error = std::move(arrivals_->errors.front());
          arrivals_->errors.pop_front();
          std::rethrow_exception(error);
        }
        if (arrivals_->ready.empty()) {
          arrivals_ = nullptr;
          return;
        }
        current_ = std::move(arrivals_->ready.front());
        arrivals_->ready.pop_front();
        index_ = 0;
      }
    }
    Arrivals<R>* arrivals_ = nullptr;
    std::vector<R> current_;
    std::size_t index_ = 0;
  };

  iterator begin() { return iterator(arrivals_.get()); }
  std::default_sentinel_t end() const { return {}; }

 private:
  std::shared_ptr<Arrivals<R>> arrivals_;
};

}  // namespace mp::detail
