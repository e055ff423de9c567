// ipc/synchronize.cpp — the handles of mp/synchronize.hpp over the shared-memory primitives of
// src/shm.
#include "mp/synchronize.hpp"

#include <climits>
#include <exception>
#include <optional>

#include <cereal/types/optional.hpp>

#include "mp/detail/archive.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "shm/barrier.hpp"
#include "shm/condition.hpp"
#include "shm/event.hpp"
#include "shm/robust_lock.hpp"
#include "shm/semaphore.hpp"
#include "sys/thread_id.hpp"

namespace mp {

namespace {

sys::Deadline deadline_of(const detail::Timeout& timeout) {
  return sys::Deadline::after(timeout);
}

std::uint32_t my_tid() noexcept {
  return static_cast<std::uint32_t>(sys::this_tid());
}

}  // namespace

// --- Lock, RLock --------------------------------------------------------------------------------

namespace detail {

namespace {
// An RLock's depth is meaningful only while it is held; one taken afresh starts at 1. A release
// from depth 1 leaves it there, so that the common case writes it at neither end: a store is
// one more moment at which a waiter's read may have taken the cache line away.
void start_depth(shm::LockState& s) noexcept {
  if (s.count != 1) s.count = 1;
}
}  // namespace

bool LockHandle::acquire_blocking() {
  // The uncontended acquire is one compare-and-swap; everything else is out of line. An RLock
  // that was free takes it the same way (its owner cannot be this thread then).
  shm::LockState& s = *ref_;
  if (shm::lock_try(s, my_tid())) {
    if (recursive_) start_depth(s);
    return true;
  }
  return acquire_slow(std::nullopt);
}

bool LockHandle::acquire_for(Timeout timeout) {
  shm::LockState& s = *ref_;
  if (shm::lock_try(s, my_tid())) {
    if (recursive_) start_depth(s);
    return true;
  }
  return acquire_slow(timeout);
}

// After a failed compare-and-swap: the RLock's owner re-entering, or the contended wait.
bool LockHandle::acquire_slow(Timeout timeout) {
  shm::LockState& s = *ref_;
  const std::uint32_t me = my_tid();
  if (recursive_ && shm::lock_owner(s) == me) {
    ++s.count;
    return true;
  }
  if (shm::lock_acquire_contended(s, me, deadline_of(timeout)) == shm::Acquired::timed_out) {
    return false;
  }
  if (recursive_) start_depth(s);
  return true;
}

void LockHandle::release() {
  shm::LockState& s = *ref_;
  if (recursive_) {
    if (shm::lock_owner(s) != my_tid()) throw ValueError("cannot release un-acquired lock");
    if (s.count > 1) {
      --s.count;
      return;
    }
  }
  if (!shm::lock_release(s)) throw ValueError("cannot release un-acquired lock");
}

std::uint32_t LockHandle::owner_deaths() const noexcept {
  return ref_->deaths.load(std::memory_order_relaxed);
}

bool LockHandle::is_owned() const noexcept {
  return shm::lock_owner(*ref_) == my_tid();
}

std::uint32_t LockHandle::release_all() {
  shm::LockState& s = *ref_;
  std::uint32_t depth = recursive_ ? s.count : 1;
  if (recursive_) s.count = 0;
  shm::lock_release(s);
  return depth;
}

void LockHandle::restore(std::uint32_t depth) {
  shm::lock_acquire(*ref_, my_tid(), sys::Deadline::never());
  ref_->count = depth;
}

void LockHandle::save_handle(OutputArchive& ar) const {
  save_ref(ar, ref_, recursive_ ? "mp::RLock" : "mp::Lock");
  ar(recursive_);
}

void LockHandle::load_handle(InputArchive& ar, std::optional<bool> recursive) {
  auto ref = load_ref<shm::LockState>(ar);
  bool r = false;
  ar(r);
  if (recursive && *recursive != r)
    throw ProtocolError("a Lock arrived where an RLock was expected");
  ref_ = std::move(ref);
  recursive_ = r;
}

}  // namespace detail

Lock::Lock() : LockHandle(detail::SharedRef<shm::LockState>::make(), false) {}
RLock::RLock() : LockHandle(detail::SharedRef<shm::LockState>::make(), true) {}
RLock::RLock(detail::SharedRef<shm::LockState> ref) noexcept : LockHandle(std::move(ref), true) {}

// --- Semaphore ------------------------------------------------------------------------------

Semaphore::Semaphore(unsigned value) : Semaphore(value, 0) {}

Semaphore::Semaphore(unsigned value, unsigned bound)
    : ref_(detail::SharedRef<shm::SemaphoreState>::make()) {
  if (value > INT_MAX) throw ValueError("semaphore initial value too large");
  ref_->value.store(value, std::memory_order_relaxed);
  ref_->max = bound;
}

void Semaphore::save(detail::OutputArchive& ar) const {
  detail::save_ref(ar, ref_, "mp::Semaphore");
}
void Semaphore::load(detail::InputArchive& ar) {
  ref_ = detail::load_ref<shm::SemaphoreState>(ar);
}

bool Semaphore::acquire_for(detail::Timeout timeout) {
  if (shm::semaphore_try(*ref_)) return true;
  return shm::semaphore_acquire(*ref_, deadline_of(timeout));
}

void Semaphore::release(unsigned n) {
  if (shm::semaphore_release(*ref_, n) == shm::Released::over_bound) {
    throw ValueError("semaphore or lock released too many times");
  }
}

unsigned Semaphore::get_value() const noexcept {
  return ref_->value.load(std::memory_order_relaxed);
}

// --- Condition --------------------------------------------------------------------------------

Condition::Condition() : Condition(RLock()) {}
Condition::Condition(Lock lock) : Condition(detail::LockHandle(std::move(lock))) {}
Condition::Condition(RLock lock) : Condition(detail::LockHandle(std::move(lock))) {}
Condition::Condition(detail::LockHandle lock)
    : ref_(detail::SharedRef<shm::ConditionState>::make()), lock_(std::move(lock)) {}

void Condition::save(detail::OutputArchive& ar) const {
  detail::save_ref(ar, ref_, "mp::Condition");
  lock_.save_handle(ar);
}
void Condition::load(detail::InputArchive& ar) {
  auto ref = detail::load_ref<shm::ConditionState>(ar);
  lock_.load_handle(ar, std::nullopt);
  ref_ = std::move(ref);
}

bool Condition::wait_impl(detail::Timeout timeout) {
  if (!lock_.is_owned()) throw ValueError("cannot wait on un-acquired lock");
  const auto deadline = deadline_of(timeout);
  const std::uint32_t seq = shm::condition_enter(*ref_);
  const std::uint32_t depth = lock_.release_all();
  const bool notified = shm::condition_sleep(*ref_, seq, deadline);
  lock_.restore(depth);
  return notified;
}

void Condition::notify(int n) {
  if (!lock_.is_owned()) throw ValueError("cannot notify on un-acquired lock");
  if (n > 0) shm::condition_notify(*ref_, n);
}

void Condition::notify_all() {
  notify(INT_MAX);
}

// --- Event --------------------------------------------------------------------------------------

Event::Event() : ref_(detail::SharedRef<shm::EventState>::make()) {}
void Event::set() {
  shm::event_set(*ref_);
}
void Event::clear() {
  ref_->flag.store(0, std::memory_order_seq_cst);
}
bool Event::is_set() const noexcept {
  return ref_->flag.load(std::memory_order_acquire) != 0;
}
void Event::save(detail::OutputArchive& ar) const {
  detail::save_ref(ar, ref_, "mp::Event");
}
void Event::load(detail::InputArchive& ar) {
  ref_ = detail::load_ref<shm::EventState>(ar);
}
bool Event::wait_impl(detail::Timeout timeout) {
  return shm::event_wait(*ref_, deadline_of(timeout));
}

// --- Barrier ------------------------------------------------------------------------------------

Barrier::Barrier(std::size_t parties, std::function<void()> action, detail::Timeout timeout)
    : ref_(detail::SharedRef<shm::BarrierState>::make()),
      action_(std::move(action)),
      timeout_(timeout) {
  if (parties < 1 || parties > UINT32_MAX / 2) throw ValueError("parties must be at least 1");
  ref_->parties = static_cast<std::uint32_t>(parties);
}

// The action is a function of this program: it cannot travel (the codec sends no code).
void Barrier::save(detail::OutputArchive& ar) const {
  if (action_) {
    throw ValueError(
        "a Barrier with an action cannot be passed to another process: the action "
        "is code, which does not travel; pass a Barrier without one");
  }
  detail::save_ref(ar, ref_, "mp::Barrier");
  std::optional<std::int64_t> timeout;
  if (timeout_) timeout = timeout_->count();
  ar(timeout);
}
void Barrier::load(detail::InputArchive& ar) {
  auto ref = detail::load_ref<shm::BarrierState>(ar);
  std::optional<std::int64_t> timeout;
  ar(timeout);
  ref_ = std::move(ref);
  action_ = nullptr;
  timeout_.reset();
  if (timeout) timeout_ = std::chrono::nanoseconds(*timeout);
}

std::size_t Barrier::wait_impl(detail::Timeout timeout) {
  struct Context {
    const std::function<void()>* action;
    std::exception_ptr error;
  } ctx{&action_, nullptr};
  auto run_action = [](void* p) -> bool {
    auto* c = static_cast<Context*>(p);
    try {
      (*c->action)();
      return true;
    } catch (...) {
      c->error = std::current_exception();
      return false;
    }
  };
  std::uint32_t index = 0;
  auto result =
      shm::barrier_wait(*ref_, deadline_of(timeout), action_ ? +run_action : nullptr, &ctx, index);
  if (ctx.error) std::rethrow_exception(ctx.error);
  if (result == shm::BarrierResult::broken) throw BrokenBarrierError("barrier is broken");
  return index;
}

void Barrier::abort() {
  shm::barrier_abort(*ref_);
}
void Barrier::reset() {
  shm::barrier_reset(*ref_);
}
std::size_t Barrier::parties() const noexcept {
  return ref_->parties;
}
std::size_t Barrier::n_waiting() const noexcept {
  return ref_->broken.load(std::memory_order_relaxed) ? 0
                                                      : ref_->count.load(std::memory_order_relaxed);
}
bool Barrier::broken() const noexcept {
  return ref_->broken.load(std::memory_order_relaxed) != 0;
}

}  // namespace mp
