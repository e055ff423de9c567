// mp/pool.hpp — a pool of worker processes, as Python's multiprocessing.Pool.
//
//   int square(int n) { return n * n; }
//
//   mp::Pool pool(4);
//   std::vector<int> r = pool.map(square, std::vector{1, 2, 3, 4, 5});   // {1, 4, 9, 16, 25}
//   mp::AsyncResult<int> a = pool.apply_async(square, 7);
//   int v = a.get(std::chrono::seconds(5));                             // 49
//
// Workers are forked when the pool is made and run tasks until the pool ends. A task is a
// function pointer, a captureless lambda, or an empty or encodable function object, with
// encodable arguments (mp/codec.hpp); anything else is a compile-time error.
//
// Unlike Python:
// - A worker that dies (a crash, kill -9, std::abort) fails only the task it was running, with
//   mp::WorkerCrashed; the pool starts a replacement and every other task completes.
// - An exception of a standard type thrown by a task is rethrown by get() as that same type
//   with the same what(); other exceptions as mp::RemoteError, which names the original type.
// - terminate() (and the destructor, as Python's `with`) fails the results still pending with
//   mp::BrokenProcessPool rather than leaving them unfinished forever.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/chunked_results.hpp"
#include "mp/detail/map_items.hpp"
#include "mp/detail/pool_core.hpp"
#include "mp/detail/progress_reporter.hpp"
#include "mp/detail/task.hpp"
#include "mp/errors.hpp"
#include "mp/futures.hpp"
#include "mp/partial.hpp"
#include "mp/pool_options.hpp"

namespace mp {

class Pool;

// Python's callback and error_callback, for apply_async, map_async and starmap_async:
//
//   pool.apply_async(square, 7, mp::callbacks([](int r) { ... }, [](const std::exception& e) { ...
//   })); pool.map_async(square, xs, 0, mp::callbacks(on_values));
//
// As in Python they run on the pool's result thread, before the result becomes ready (so get()
// returning means the callback has run), and they must be quick: the next results wait for
// them. `callback` receives the value (nothing for a void task); `error_callback` the exception,
// as `const std::exception&` or `std::exception_ptr`. What a callback throws is printed to stderr
// and dropped.
template <class OnValue = std::nullptr_t, class OnError = std::nullptr_t>
struct Callbacks {
  OnValue callback{};
  OnError error_callback{};
};
template <class OnValue, class OnError = std::nullptr_t>
Callbacks<OnValue, OnError> callbacks(OnValue callback, OnError error_callback = nullptr) {
  return {std::move(callback), std::move(error_callback)};
}

namespace detail {

template <class T>
inline constexpr bool is_callbacks = false;
template <class A, class B>
inline constexpr bool is_callbacks<Callbacks<A, B>> = true;

template <class... Ts>
inline constexpr bool ends_with_callbacks = false;
template <class T, class... Ts>
inline constexpr bool ends_with_callbacks<T, Ts...> = sizeof...(Ts) == 0
                                                          ? is_callbacks<std::decay_t<T>>
                                                          : ends_with_callbacks<Ts...>;

// Runs the callback that fits: `value` on success, else `error`.
template <class T, class A, class B>
void notify(Callbacks<A, B>& c, const T* value, std::exception_ptr error) noexcept {
  try {
    if (error) {
      if constexpr (!std::is_same_v<B, std::nullptr_t>) {
        if constexpr (std::is_invocable_v<B&, std::exception_ptr>) {
          c.error_callback(error);
        } else {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            c.error_callback(e);
          } catch (...) {
          }
        }
      }
    } else if constexpr (!std::is_same_v<A, std::nullptr_t>) {
      if constexpr (std::is_invocable_v<A&, const T&>) {
        c.callback(*value);
      } else {
        c.callback();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mp: pool: a callback threw: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mp: pool: a callback threw\n");
  }
}

}  // namespace detail

// The result of a task that may not have finished (Python's AsyncResult). It shares its state
// with mp::Future (mp/futures.hpp): one result state for both.
template <class T>
class AsyncResult {
 public:
  // Waits, then returns the value or rethrows the task's exception.
  T get() { return future_.result(); }
  // Throws TimeoutError when the task has not finished in time.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    if (!wait_for(timeout)) throw TimeoutError("the task has not finished");
    return future_.result();
  }
  void wait() const { future_.wait_done(std::nullopt); }
  // True once the task has finished.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return future_.wait_done(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  bool ready() const { return future_.done(); }
  // Whether the task succeeded; ValueError while it has not finished (as in Python).
  bool successful() const {
    if (!future_.done()) throw ValueError("the task has not finished");
    return future_.exception() == nullptr;
  }

 private:
  friend class Pool;
  using Stored = detail::Returned<T>;

  explicit AsyncResult(std::weak_ptr<detail::ResultReader> reader = {})
      : future_(std::in_place, std::move(reader)) {}

  // As get(), but the value is moved out rather than copied: for Pool::map and apply, whose
  // result nobody else can see (get() copied a map's whole vector once more).
  T take() {
    future_.wait_done(std::nullopt);
    auto& state = future_.s();
    std::lock_guard lock(state.mutex);
    if (state.error) std::rethrow_exception(state.error);
    if constexpr (!std::is_void_v<T>) return std::move(*state.value);
  }

  // On the pool's thread: the value, or the error.
  void finish(std::optional<Stored> v, std::exception_ptr e) const {
    Future<T> f = future_;
    f.finish(std::move(v), std::move(e));
  }

  Future<T> future_;
};

class Pool {
 public:
  // `processes` workers; 0: cpu_count().
  explicit Pool(std::size_t processes = 0, const PoolOptions& options = {})
      : core_(processes, options), progress_(options.progress) {}
  ~Pool() = default;  // terminate(), as Python's `with` block
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  std::size_t processes() const noexcept { return core_.processes(); }

  // f(args...) in a worker.
  template <class F, class... Args>
  auto apply(F f, Args&&... args) {
    return apply_async_impl(f, Callbacks<>{}, Delivery::caller_waits, std::forward<Args>(args)...)
        .take();
  }
  // f(args...) in a worker; a last argument mp::callbacks(...) gives Python's callback and
  // error_callback (see Callbacks above).
  template <class F, class... Args>
  auto apply_async(F f, Args&&... args) {
    if constexpr (detail::ends_with_callbacks<Args...>) {
      auto all = std::forward_as_tuple(std::forward<Args>(args)...);
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return apply_async_impl(f, std::get<sizeof...(Args) - 1>(all), Delivery::pool_thread,
                                std::get<I>(std::move(all))...);
      }
      (std::make_index_sequence<sizeof...(Args) - 1>{});
    } else {
      return apply_async_impl(f, Callbacks<>{}, Delivery::any_thread, std::forward<Args>(args)...);
    }
  }

  // [f(x) for x in xs], in order; the items travel in chunks of `chunksize` (0: Python's
  // default, about four chunks per worker).
  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& xs, std::size_t chunksize = 0) {
    return map_async(f, std::forward<Range>(xs), chunksize).take();
  }
  template <class F, std::ranges::input_range Range, class A = std::nullptr_t,
            class B = std::nullptr_t>
  auto map_async(F f, Range&& xs, std::size_t chunksize = 0, Callbacks<A, B> on = {}) {
    using Item = std::ranges::range_value_t<Range>;
    return map_impl<F, Item, false>(f, std::forward<Range>(xs), chunksize, std::move(on));
  }

  // [f(a, b, ...) for (a, b, ...) in xs]: the items are tuples (or pairs) of arguments.
  template <class F, std::ranges::input_range Range>
  auto starmap(F f, Range&& xs, std::size_t chunksize = 0) {
    return starmap_async(f, std::forward<Range>(xs), chunksize).take();
  }
  template <class F, std::ranges::input_range Range, class A = std::nullptr_t,
            class B = std::nullptr_t>
  auto starmap_async(F f, Range&& xs, std::size_t chunksize = 0, Callbacks<A, B> on = {}) {
    using Item = std::ranges::range_value_t<Range>;
    return map_impl<F, Item, true>(f, std::forward<Range>(xs), chunksize, std::move(on));
  }

  // Lazily, in order: a range whose iteration waits for each result (Python's imap; chunks of
  // `chunksize` items, 1 by default). The tasks are all submitted at once.
  template <class F, std::ranges::input_range Range>
  auto imap(F f, Range&& xs, std::size_t chunksize = 1) {
    if (chunksize == 0) throw ValueError("chunksize must be >= 1");
    return imap_impl<F, std::ranges::range_value_t<Range>>(f, std::forward<Range>(xs), chunksize);
  }
  // As imap, in the order the results come.
  template <class F, std::ranges::input_range Range>
  auto imap_unordered(F f, Range&& xs, std::size_t chunksize = 1) {
    if (chunksize == 0) throw ValueError("chunksize must be >= 1");
    return imap_unordered_impl<F, std::ranges::range_value_t<Range>>(f, std::forward<Range>(xs),
                                                                     chunksize);
  }

  void close() { core_.close(); }          // no more tasks; queued ones still run
  void join() { core_.join(); }            // after close(): waits for the tasks and workers
  void terminate() { core_.terminate(); }  // stops the workers now

 private:
  using Delivery = detail::PoolCore::Delivery;

  template <class A, class B>
  static constexpr Delivery delivery_for(const Callbacks<A, B>&) {
    // Python's callbacks run on the pool's result thread.
    return std::is_same_v<A, std::nullptr_t> && std::is_same_v<B, std::nullptr_t>
               ? Delivery::any_thread
               : Delivery::pool_thread;
  }

  template <class F, class A, class B, class... Args>
  auto apply_async_impl(F f, Callbacks<A, B> on, Delivery delivery, Args&&... args) {
    detail::check_pool_callable<F>();
    using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
    AsyncResult<R> result(core_.reader());
    // Encoded from the arguments where they lie, straight into the task queue.
    using Refs = std::tuple<const F&, const std::decay_t<Args>&...>;
    const Refs refs(f, args...);
    auto encode = [](const void* context, detail::OutputArchive& ar) {
      std::apply([&ar](const auto&... a) { detail::encode_call_into(ar, a...); },
                 *static_cast<const Refs*>(context));
    };
    core_.submit(
        &detail::invoke_call<F, std::decay_t<Args>...>, +encode, &refs,
        [result, on = std::move(on)](std::span<const std::byte> bytes,
                                     std::exception_ptr e) mutable {
          finish_one<R>(result, bytes, e, on);
        },
        delivery);
    return result;
  }

  template <class R, class A, class B>
  static void finish_one(const AsyncResult<R>& result, std::span<const std::byte> bytes,
                         std::exception_ptr error, Callbacks<A, B>& on) {
    using Stored = detail::Returned<R>;
    std::optional<Stored> value;
    if (!error) {
      try {
        value = detail::decode_payload<Stored>(bytes, detail::PoolCore::result_in_body());
      } catch (...) {
        error = std::current_exception();
      }
    }
    detail::notify<Stored>(on, value ? &*value : nullptr, error);
    result.finish(std::move(value), error);
  }

  template <class F, class Item, bool Star>
  using Element = typename detail::MapElement<F, Item, Star>::type;

  // Python's default (len / (4 * workers)), capped at about kChunkBytes of items: a chunk of
  // megabytes goes through memory instead of the caches at every copy, and per item a map of
  // 10 M longs took 2x what a map of 100 k took. 32 KiB rather than 64: a queue's ring cycles
  // through its first 64 KiB while its consumers keep up (shm/ring.hpp), and chunks of 64 KiB
  // kept the caller waiting for room there (100 k longs: 1.3-1.6x the time per item).
  template <class Item>
  std::size_t resolve_chunksize(std::size_t n, std::size_t chunksize) const {
    if (chunksize != 0) return chunksize;
    constexpr std::size_t kChunkBytes = 32 << 10;
    constexpr std::size_t kCap = std::max<std::size_t>(1, kChunkBytes / sizeof(Item));
    const std::size_t per = 4 * core_.processes();
    return std::min(kCap, std::max<std::size_t>(1, (n + per - 1) / per));
  }

  // Submits `items` in chunks; `on_chunk(begin, end)` gives each chunk's Done.
  template <class F, class Item, bool Star, class OnChunk>
  void submit_chunks(F f, detail::MapItems<Item>& items, std::size_t chunksize, OnChunk on_chunk,
                     Delivery delivery = Delivery::any_thread) {
    detail::check_pool_callable<F>();
    static_assert(!std::is_same_v<Element<F, Item, Star>, detail::Unit>,
                  "mp: Pool::map and its kin need a function that returns a value");
    for (std::size_t begin = 0; begin < items.size(); begin += chunksize) {
      const std::size_t end = std::min(items.size(), begin + chunksize);
      if constexpr (detail::MapItems<Item>::viewable) {
        // Encoded from the items where they lie into this thread's encoding buffer, which the
        // task queue copies: no allocation per chunk.
        detail::EncodeBufferLease buf;
        std::vector<std::byte>& payload = buf.get();
        payload.resize(detail::kTaskHeaderSpace);
        detail::encode_chunk_into(f, items.view(begin, end), payload);
        core_.submit(&detail::invoke_chunk<F, Item, Star>, std::span<std::byte>(payload),
                     on_chunk(begin, end), delivery);
      } else {
        core_.submit(&detail::invoke_chunk<F, Item, Star>,
                     detail::encode_chunk(f, items.take(begin, end)), on_chunk(begin, end),
                     delivery);
      }
    }
  }

  // Decodes a chunk's values (or passes its error on): `deliver(values, error)`.
  template <class E, class Deliver>
  static detail::PoolCore::Done chunk_done(std::size_t count, Deliver deliver) {
    return [count, deliver = std::move(deliver)](std::span<const std::byte> bytes,
                                                 std::exception_ptr e) mutable {
      std::vector<E> part;
      if (!e) {
        try {
          part = detail::decode_payload<std::vector<E>>(bytes);
          if (part.size() != count) throw ProtocolError("a map chunk came back short");
        } catch (...) {
          e = std::current_exception();
        }
      }
      deliver(std::move(part), e);
    };
  }

  template <class F, class Item, bool Star, class A, class B>
  auto map_impl(F f, auto&& xs, std::size_t chunksize, Callbacks<A, B> on) {
    using E = Element<F, Item, Star>;
    AsyncResult<std::vector<E>> result(core_.reader());
    const Delivery delivery = delivery_for(on);
    detail::MapItems<Item> items(std::forward<decltype(xs)>(xs));
    const std::size_t n = items.size();
    chunksize = resolve_chunksize<Item>(n, chunksize);
    if (n == 0) {
      result.finish(std::vector<E>{}, nullptr);
      return result;
    }
    struct Gather {
      std::mutex mutex;
      std::vector<E> values;
      std::size_t chunks_left = 0;
      std::exception_ptr error;
      std::optional<Callbacks<A, B>> on;  // optional: a lambda cannot be assigned, only made
      std::optional<detail::ProgressReporter> progress;
    };
    auto gather = std::make_shared<Gather>();
    // A large result is asked for huge pages: faulting in 80 MB 4 KiB at a time costs more than
    // filling it.
    if constexpr (!std::is_same_v<E, bool>) detail::reserve_large(gather->values, n);
    gather->values.resize(n);
    gather->chunks_left = (n + chunksize - 1) / chunksize;
    gather->on.emplace(std::move(on));
    if (progress_) gather->progress.emplace(progress_, n);
    // After a chunk's values are in place (or it failed with `e`).
    auto chunk_in = [gather, result](std::size_t count, std::exception_ptr e) {
      if (e && !gather->error) gather->error = e;
      if (gather->progress) gather->progress->advance(count);
      if (--gather->chunks_left != 0) return;
      detail::notify<std::vector<E>>(*gather->on, &gather->values, gather->error);
      if (gather->error) {
        result.finish(std::nullopt, gather->error);
      } else {
        result.finish(std::move(gather->values), nullptr);
      }
    };
    submit_chunks<F, Item, Star>(
        f, items, chunksize,
        [gather, chunk_in](std::size_t begin, std::size_t end) {
          if constexpr (detail::bulk_bytes_v<E>) {
            // Decoded straight into the result, from the bytes in the result queue.
            return detail::PoolCore::Done(
                [gather, chunk_in, begin, end](std::span<const std::byte> bytes,
                                               std::exception_ptr e) {
                  std::lock_guard lock(gather->mutex);
                  if (!e) {
                    try {
                      detail::decode_chunk_results<E>(
                          bytes, std::span<E>(gather->values).subspan(begin, end - begin));
                    } catch (...) {
                      e = std::current_exception();
                    }
                  }
                  chunk_in(end - begin, e);
                });
          } else {
            return chunk_done<E>(end - begin, [gather, chunk_in, begin, end](std::vector<E> part,
                                                                             std::exception_ptr e) {
              // Also for vector<bool>, whose bits share words.
              std::lock_guard lock(gather->mutex);
              if (!e) std::move(part.begin(), part.end(), gather->values.begin() + begin);
              chunk_in(end - begin, e);
            });
          }
        },
        delivery);
    return result;
  }

  template <class F, class Item>
  auto imap_impl(F f, auto&& xs, std::size_t chunksize) {
    using E = Element<F, Item, false>;
    using Chunk = AsyncResult<std::vector<E>>;
    std::vector<Chunk> chunks;
    detail::MapItems<Item> items(std::forward<decltype(xs)>(xs));
    auto progress = reporter(items.size());
    submit_chunks<F, Item, false>(f, items, chunksize, [&](std::size_t begin, std::size_t end) {
      Chunk& c = chunks.emplace_back(Chunk(core_.reader()));
      return chunk_done<E>(
          end - begin, [c, progress, n = end - begin](std::vector<E> part, std::exception_ptr e) {
            if (progress) progress->advance(n);
            if (e) return c.finish(std::nullopt, e);
            c.finish(std::move(part), nullptr);
          });
    });
    return detail::OrderedResults<Chunk, E, &chunk_values<E>>(std::move(chunks));
  }

  std::shared_ptr<detail::ProgressReporter> reporter(std::size_t total) const {
    if (!progress_) return nullptr;
    return std::make_shared<detail::ProgressReporter>(progress_, total);
  }

  template <class F, class Item>
  auto imap_unordered_impl(F f, auto&& xs, std::size_t chunksize) {
    using E = Element<F, Item, false>;
    detail::MapItems<Item> items(std::forward<decltype(xs)>(xs));
    auto arrivals = std::make_shared<detail::Arrivals<E>>();
    arrivals->outstanding = (items.size() + chunksize - 1) / chunksize;
    auto progress = reporter(items.size());
    submit_chunks<F, Item, false>(
        f, items, chunksize, [arrivals, progress](std::size_t begin, std::size_t end) {
          return chunk_done<E>(end - begin, [arrivals, progress, n = end - begin](
                                                std::vector<E> part, std::exception_ptr e) {
            if (progress) progress->advance(n);
            arrivals->arrive(std::move(part), e);
          });
        });
    return detail::UnorderedResults<E>(std::move(arrivals));
  }

  template <class E>
  static std::vector<E> chunk_values(AsyncResult<std::vector<E>>& chunk,
                                     detail::Deadline deadline) {
    if (!deadline) return chunk.get();
    return chunk.get(detail::left_until(*deadline));
  }

  detail::PoolCore core_;
  Progress progress_;
};

}  // namespace mp
