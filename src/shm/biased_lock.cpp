#include "shm/biased_lock.hpp"

#include <algorithm>
#include <chrono>

#include "sys/futex.hpp"
#include "sys/thread_id.hpp"

namespace mp::shm {

namespace {

// A thread earns the bias by taking the lock this many times in a row; each revocation
// multiplies the requirement by 8, up to about a million.
constexpr std::uint32_t kFirstStreak = 64;
constexpr std::uint32_t kMaxShift = 14;

std::uint32_t streak_needed(std::uint32_t revocations) {
  return kFirstStreak << std::min(revocations * 3, kMaxShift);
}

// Waits until the bias holder `holder` is out: `busy` no longer names it. A holder that died
// inside counts as out. False when the deadline passed first.
bool wait_for_holder(BiasedLockState& s, std::uint32_t holder, const sys::Deadline& deadline,
                     bool& died) {
  auto out = [&] { return s.busy.load(std::memory_order_seq_cst) != holder; };
  for (int i = 0; i < 200; ++i) {
    if (out()) return true;
    sys::cpu_relax();
  }
  auto slice = std::chrono::microseconds(50);
  auto since_check = std::chrono::microseconds(0);
  auto holder_died = [&] {
    if (out() || sys::thread_alive(static_cast<int>(holder))) return false;
    died = true;
    return true;
  };
  for (;;) {
    if (out()) return true;
    // A caller that only ever polls briefly (try_get with a few milliseconds) would otherwise
    // never reach the periodic check below and could not take over from a dead holder.
    if (deadline.passed()) return holder_died();
    // Nobody wakes this word for us: the holder leaves with a plain store. A timed sleep.
    sys::futex_wait(s.revoking, 1, deadline.capped(slice));
    since_check += slice;
    slice = std::min<std::chrono::microseconds>(slice * 2, std::chrono::milliseconds(1));
    if (since_check >= kOwnerCheck) {
      since_check = std::chrono::microseconds(0);
      if (holder_died()) return true;
    }
  }
}

}  // namespace

void biased_back_off(BiasedLockState& s, std::uint32_t tid) noexcept {
  // The claim is this thread's own, so a store releases it; the bias goes back only if it is
  // still this thread's.
  s.busy.store(0, std::memory_order_release);
  std::uint32_t mine = tid;
  s.bias.compare_exchange_strong(mine, 0, std::memory_order_release, std::memory_order_relaxed);
}

Entry biased_enter_locked(BiasedLockState& s, std::uint32_t tid, const sys::Deadline& deadline,
                          bool& recovered) noexcept {
  const Acquired a = lock_acquire(s.lock, tid, deadline);
  if (a == Acquired::timed_out) return Entry::none;
  recovered = a == Acquired::recovered;
  const std::uint32_t holder = s.bias.load(std::memory_order_acquire);
  if (holder != 0) {
    bool died = false;
    if (holder != tid) {
      s.revoking.store(1, std::memory_order_seq_cst);
      if (!wait_for_holder(s, holder, deadline, died)) {
        s.revoking.store(0, std::memory_order_relaxed);
        lock_release(s.lock);
        return Entry::none;
      }
      if (died) {
        s.lock.deaths.fetch_add(1, std::memory_order_relaxed);
        recovered = true;
      }
    }
    // Taking the bias from a live thread is contention, and makes the next bias dearer; from
    // one that has ended (a worker process that exited) it is not.
    if (holder != tid && !died && sys::thread_alive(static_cast<int>(holder))) ++s.revocations;
    // A holder that died inside left its claim; this thread's own bias is simply dropped. Only
    // that claim is cleared: another may belong to a thread about to find the bias gone.
    std::uint32_t claim = holder;
    s.busy.compare_exchange_strong(claim, 0, std::memory_order_relaxed);
    s.bias.store(0, std::memory_order_relaxed);
    s.revoking.store(0, std::memory_order_release);
    s.streak = 0;
  }
  if (s.last_owner == tid) {
    ++s.streak;
  } else {
    s.last_owner = tid;
    s.streak = 1;
  }
  return Entry::locked;
}

void biased_leave_locked(BiasedLockState& s, std::uint32_t tid) noexcept {
  if (s.streak >= streak_needed(s.revocations)) {
    s.streak = 0;
    s.bias.store(tid, std::memory_order_release);
  }
  lock_release(s.lock);
}

}  // namespace mp::shm
