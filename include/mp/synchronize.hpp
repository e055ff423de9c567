// mp/synchronize.hpp — locks and other synchronization between processes, as Python's
// multiprocessing.synchronize: Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event,
// Barrier.
//
//   mp::Lock lock;
//   mp::Process p([lock]() mutable { std::lock_guard g(lock); std::cout << "child\n"; });
//   p.start();
//   { std::lock_guard g(lock); std::cout << "parent\n"; }
//   p.join();
//
// Every object is a handle to state in anonymous shared memory: copies share it, a child
// started after the object's creation shares it, nothing appears in /dev/shm. Any process can
// also be given one: send it over a Connection, or pass it as an argument of a starting Process
// (its descriptor travels with SCM_RIGHTS, see detail/fd_transfer.hpp); the receiver's handle
// refers to the same object. A Barrier with an action cannot travel (the action is code), nor
// can any handle be put on a Queue (ValueError), as in Python. Waiting sleeps on
// a futex after a short spin. Every blocking call has a timed form; timed forms return false on
// timeout, as Python's do. Locks satisfy Lockable and TimedLockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock work.
//
// Hazards and what we do about them:
// - A process that dies holding a Lock or RLock (SIGKILL, crash) does not deadlock it: the next
//   acquirer notices within about 20 ms that the owner is gone and takes the lock over. The data
//   the lock protected may be half-updated; owner_deaths() counts such take-overs so a program can
//   check and repair. lock() never throws for it.
// - A Barrier party that dies while others wait: the others break the barrier when their timeout
//   passes (give the Barrier a default timeout to make this automatic). A party that dies inside
//   wait() has arrived: its generation still passes once the others arrive, and the next
//   generation, which lacks it, breaks on the timeout.
// - Each object holds one file descriptor (its memfd) until its last handle goes. When the
//   process runs out, mp raises the soft RLIMIT_NOFILE to the hard limit and carries on.
// - Memory ordering: acquire/release semantics, as std::mutex.
//
// Differences from Python: releasing a Lock that is not held, or an RLock the caller does not
// own, or a BoundedSemaphore past its bound, throws mp::ValueError. Condition::notify(n) may wake
// a few more than n waiters (as a spurious wake-up; predicate waits are unaffected).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "mp/detail/segment.hpp"
#include "mp/errors.hpp"

namespace cereal {
class access;
}

namespace mp {

namespace shm {
struct LockState;
struct SemaphoreState;
struct ConditionState;
struct EventState;
struct BarrierState;
}  // namespace shm

class Condition;

namespace detail {

class OutputArchive;
class InputArchive;

using Timeout = std::optional<std::chrono::nanoseconds>;  // nullopt: wait forever

template <class Clock, class Duration>
std::chrono::nanoseconds until(std::chrono::time_point<Clock, Duration> tp) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(tp - Clock::now());
}

// The surface Lock and RLock share.
class LockHandle {
 public:
  // Blocks until acquired; returns true (Python's acquire()).
  bool acquire() { return acquire_blocking(); }
  // acquire(false) only tries (Python's acquire(block=False)).
  bool acquire(bool blocking) {
    return acquire_for(blocking ? Timeout() : Timeout(std::chrono::nanoseconds(0)));
  }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return acquire_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  // Throws ValueError if not held (Lock) or not owned by the calling thread (RLock).
  void release();

  void lock() { acquire_blocking(); }
  void unlock() { release(); }
  bool try_lock() { return acquire_for(std::chrono::nanoseconds(0)); }
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    return acquire(d);
  }
  template <class Clock, class Duration>
  bool try_lock_until(std::chrono::time_point<Clock, Duration> tp) {
    return acquire_for(until(tp));
  }

  // How many holders died holding this lock, each then recovered by the next acquirer.
  std::uint32_t owner_deaths() const noexcept;
  // Whether the calling thread holds it.
  bool is_owned() const noexcept;

 protected:
  LockHandle(SharedRef<shm::LockState> ref, bool recursive) noexcept
      : ref_(std::move(ref)), recursive_(recursive) {}

  // Encoding (detail/fd_transfer.hpp): the state's place and whether it is recursive. The
  // loader checks the kind against `recursive` (Condition accepts either: nullopt).
  void save_handle(OutputArchive& ar) const;
  void load_handle(InputArchive& ar, std::optional<bool> recursive);

 private:
  friend class mp::Condition;
  // The untimed form has its own entry: building a Timeout at every call costs a store and a
  // load that the processor cannot forward (a byte stored, eight loaded), on the fast path.
  bool acquire_blocking();
  bool acquire_for(Timeout timeout);
  [[gnu::noinline]] bool acquire_slow(Timeout timeout);
  std::uint32_t release_all();        // for Condition::wait: returns the recursion depth
  void restore(std::uint32_t depth);  // and takes it back

  SharedRef<shm::LockState> ref_;
  bool recursive_;
};

}  // namespace detail

// A non-recursive lock. Any thread or process may release it (as in Python).
class Lock : public detail::LockHandle {
 public:
  Lock();

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const { save_handle(ar); }
  void load(detail::InputArchive& ar) { load_handle(ar, false); }
};

// A recursive lock, owned by one thread of one process; only the owner may release it.
class RLock : public detail::LockHandle {
 public:
  RLock();

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const { save_handle(ar); }
  void load(detail::InputArchive& ar) { load_handle(ar, true); }
  template <class T>
  friend class Value;
  template <class T>
  friend class Array;
  explicit RLock(detail::SharedRef<shm::LockState> ref) noexcept;
};

class Semaphore {
 public:
  explicit Semaphore(unsigned value = 1);

  bool acquire() { return acquire_for(std::nullopt); }
  bool acquire(bool blocking) {
    return acquire_for(blocking ? detail::Timeout() : detail::Timeout(std::chrono::nanoseconds(0)));
  }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return acquire_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  bool try_acquire() { return acquire(false); }
  template <class Rep, class Period>
  bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
    return acquire(d);
  }
  template <class Clock, class Duration>
  bool try_acquire_until(std::chrono::time_point<Clock, Duration> tp) {
    return acquire_for(detail::until(tp));
  }
  // Adds n; a BoundedSemaphore throws ValueError rather than pass its initial value.
  void release(unsigned n = 1);
  unsigned get_value() const noexcept;

  // Lockable, so that std::lock_guard works like Python's `with sem:`.
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return try_acquire(); }

 protected:
  Semaphore(unsigned value, unsigned bound);

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const;
  void load(detail::InputArchive& ar);
  bool acquire_for(detail::Timeout timeout);
  detail::SharedRef<shm::SemaphoreState> ref_;
};

class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(unsigned value = 1) : Semaphore(value, value) {}
};

// A condition variable over a Lock or RLock (a new RLock by default). wait() needs the lock
// held by the caller, releases it while sleeping and holds it again on return.
class Condition {
 public:
  Condition();
  explicit Condition(Lock lock);
  explicit Condition(RLock lock);

  void wait() { wait_impl(std::nullopt); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return wait_impl(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> tp) {
    return wait_impl(detail::until(tp));
  }
  // Waits until pred() holds (Python's wait_for(predicate)).
  template <class Predicate>
  void wait(Predicate pred) {
    while (!pred()) wait_impl(std::nullopt);
  }
  // Waits until pred() holds or the timeout passes; returns pred().
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::chrono::duration<Rep, Period> timeout, Predicate pred) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= std::chrono::nanoseconds::zero()) return pred();
      wait_impl(left);
    }
    return true;
  }

  // Wake one, n, or every waiter; the lock must be held (else ValueError).
  void notify(int n = 1);
  void notify_all();

  // The underlying lock's surface.
  bool acquire() { return lock_.acquire(); }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return lock_.acquire(timeout);
  }
  void release() { lock_.release(); }
  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  bool try_lock() { return lock_.try_lock(); }

 private:
  Condition(detail::LockHandle lock);
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const;
  void load(detail::InputArchive& ar);
  bool wait_impl(detail::Timeout timeout);
  detail::SharedRef<shm::ConditionState> ref_;
  detail::LockHandle lock_;
};

class Event {
 public:
  Event();
  void set();
  void clear();
  bool is_set() const noexcept;
  // Returns true once set (Python's wait()); the timed forms return false on timeout.
  bool wait() { return wait_impl(std::nullopt); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return wait_impl(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> tp) {
    return wait_impl(detail::until(tp));
  }

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const;
  void load(detail::InputArchive& ar);
  bool wait_impl(detail::Timeout timeout);
  detail::SharedRef<shm::EventState> ref_;
};

// Waits until `parties` processes (or threads) have called wait(); then all go on. Breaks, and
// throws BrokenBarrierError in every waiter, on abort(), on a waiter's timeout, on a throwing
// action, and for waiters present at reset().
class Barrier {
 public:
  // `action` runs once per generation, in the last party to arrive, before any party goes on.
  // (Barrier() has one party: it exists so that a Barrier can be received, see above.)
  explicit Barrier(std::size_t parties = 1, std::function<void()> action = nullptr,
                   detail::Timeout timeout = std::nullopt);
  template <class Rep, class Period>
  Barrier(std::size_t parties, std::function<void()> action,
          std::chrono::duration<Rep, Period> timeout)
      : Barrier(parties, std::move(action),
                detail::Timeout(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))) {}

  // Returns this party's arrival index, 0 .. parties()-1. Uses the default timeout, if any.
  std::size_t wait() { return wait_impl(timeout_); }
  template <class Rep, class Period>
  std::size_t wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_impl(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  void abort();
  void reset();
  std::size_t parties() const noexcept;
  std::size_t n_waiting() const noexcept;
  bool broken() const noexcept;

 private:
  friend class cereal::access;
  void save(detail::OutputArchive& ar) const;  // ValueError when it has an action
  void load(detail::InputArchive& ar);
  std::size_t wait_impl(detail::Timeout timeout);
  detail::SharedRef<shm::BarrierState> ref_;
  std::function<void()> action_;
  detail::Timeout timeout_;
};

}  // namespace mp
