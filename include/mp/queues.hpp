// mp/queues.hpp — queues between processes, as Python's multiprocessing.Queue, SimpleQueue and
// JoinableQueue.
//
//   mp::Queue<std::string> q;                 // any encodable type (mp/codec.hpp)
//   mp::Process p([q]() mutable { q.put("hello"); });
//   p.start();
//   std::string s = q.get(std::chrono::seconds(5));   // mp::Empty after 5 s
//   p.join();
//
// A queue is a handle to a ring buffer in shared memory (src/shm/ring.hpp): put() encodes the
// value and copies it into the ring before returning, get() decodes it from there. Any number of
// processes may put and get. Waits spin briefly, then sleep on a futex.
//
// Differences from Python, all deliberate:
// - No feeder thread. put() has finished when it returns: an encoding failure throws in the
//   caller, nothing is dropped silently, and a process that put items may exit at once without
//   hanging in join (join_thread and cancel_join_thread are no-ops kept for compatibility).
// - "Unbounded" (maxsize 0) means no limit on the number of items; the bytes pending are bounded
//   by the ring (QueueOptions::capacity, 4 MiB by default) and put() waits for room beyond it.
//   A single message may be of any size: large ones (over a quarter of the ring) travel outside
//   the ring, each in memory of its own, their descriptors over a socket that holds a few
//   hundred; put() waits for room there too. So at most that many large messages are pending,
//   whatever maxsize says. Every wait for room, in the ring or the socket, ends at put's timeout
//   (put_nowait and try_put do not wait at all).
// - A producer killed in the middle of put() leaves no partial message; a consumer killed in the
//   middle of get() leaves its message to the next consumer. qsize() stays approximate.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "mp/codec.hpp"
#include "mp/detail/queue_core.hpp"
#include "mp/errors.hpp"

namespace mp {

template <class T>
class Queue {
  static_assert(detail::require_encodable<T>(),
                "mp::Queue<T> needs an encodable T (see mp/codec.hpp)");

 public:
  explicit Queue(std::size_t maxsize = 0, const QueueOptions& options = {})
      : core_(detail::type_tag<T>(), maxsize, options) {}

  // Blocks while the queue is full.
  void put(const T& value) { put_impl(value, std::nullopt); }
  // Throws Full when no room appears in time.
  template <class Rep, class Period>
  void put(const T& value, std::chrono::duration<Rep, Period> timeout) {
    if (!put_impl(value, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))) {
      throw Full("queue is full");
    }
  }
  void put_nowait(const T& value) { put(value, std::chrono::nanoseconds(0)); }
  bool try_put(const T& value) { return put_impl(value, std::chrono::nanoseconds(0)); }

  // Blocks until an item arrives.
  T get() { return *get_impl(std::nullopt); }
  // Throws Empty when none arrives in time.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    auto v = try_get(timeout);
    if (!v) throw Empty("queue is empty");
    return std::move(*v);
  }
  T get_nowait() { return get(std::chrono::nanoseconds(0)); }
  std::optional<T> try_get() { return get_impl(std::chrono::nanoseconds(0)); }
  template <class Rep, class Period>
  std::optional<T> try_get(std::chrono::duration<Rep, Period> timeout) {
    return get_impl(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  std::size_t qsize() const noexcept { return core_.qsize(); }
  bool empty() const noexcept { return core_.empty(); }
  bool full() const noexcept { return core_.full(); }
  void close() noexcept { core_.close(); }
  void join_thread() noexcept {}
  void cancel_join_thread() noexcept {}

 protected:
  bool put_impl(const T& value, detail::QueueCore::Timeout timeout) {
    if constexpr (detail::memcpy_encodable<T> && sizeof(T) <= 4096) {
      // The encoding is the value's bytes: straight from it.
      return core_.put({reinterpret_cast<const std::byte*>(&value), sizeof(T)}, timeout);
    } else {
      if constexpr (detail::sized_encoding<T>::value) {
        // Its size known up front, a message for the ring is encoded straight into it.
        if (const std::size_t size = detail::encoded_size(value); size <= core_.largest_in_ring()) {
          auto write = [](const void* v, std::span<std::byte> at) {
            detail::SpanSink sink(at);
            detail::encode_payload_into(*static_cast<const T*>(v), sink);
          };
          return core_.put_in_place(size, +write, &value, timeout, sizeof(cereal::size_type));
        }
      }
      detail::QueueCore::Message message(core_);
      detail::encode_payload_into(value, message);
      return core_.put(message, timeout);
    }
  }
  std::optional<T> get_impl(detail::QueueCore::Timeout timeout) {
    std::optional<T> out;
    auto sink = [](void* ctx, std::span<const std::byte> bytes) {
      static_cast<std::optional<T>*>(ctx)->emplace(detail::decode_payload<T>(bytes));
    };
    auto large_sink = [](void* ctx, std::span<const std::byte> bytes) {
      static_cast<std::optional<T>*>(ctx)->emplace(detail::decode_payload<T>(bytes, true));
      return false;  // read whole: the body is free
    };
    if (!core_.get(+sink, &out, timeout, +large_sink)) return std::nullopt;
    return out;
  }

  detail::QueueCore core_;

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const { core_.save_handle(ar, "mp::Queue"); }
  void load(detail::InputArchive& ar) { core_.load_handle(ar, detail::type_tag<T>()); }
};

// A Queue whose consumers report completion: join() waits until every item put has been
// marked done with task_done().
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  explicit JoinableQueue(std::size_t maxsize = 0, const QueueOptions& options = {})
      : Queue<T>(maxsize, options) {}

  // ValueError when called more times than items were put.
  void task_done() { this->core_.task_done(); }
  void join() { this->core_.join(std::nullopt); }
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return this->core_.join(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
};

// The reduced interface of Python's SimpleQueue: put, get, empty, close.
template <class T>
class SimpleQueue {
 public:
  SimpleQueue() = default;
  void put(const T& value) { q_.put(value); }
  T get() { return q_.get(); }
  bool empty() const noexcept { return q_.empty(); }
  void close() noexcept { q_.close(); }

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const { ar(q_); }
  void load(detail::InputArchive& ar) { ar(q_); }
  Queue<T> q_;
};

}  // namespace mp
