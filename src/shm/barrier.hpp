// shm/barrier.hpp — a reusable barrier in shared memory (Python's Barrier).
//
// A robust internal lock guards the arrival count; the generation number is the futex word that
// waiters sleep on. Every way a generation can end bumps it: all parties arrived (pass), or the
// barrier broke (abort, a timeout, a failed action) or was reset, in which case `failed_gen`
// names the generation whose waiters must raise BrokenBarrierError (stored plus one, so that the
// all-zero initial state means "none").
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shm/robust_lock.hpp"
#include "sys/clock.hpp"

namespace mp::shm {

struct BarrierState {
  LockState lock;
  std::atomic<std::uint32_t> gen;
  std::atomic<std::uint32_t> count;  // parties waiting in this generation
  std::atomic<std::uint32_t> failed_gen;
  std::atomic<std::uint32_t> broken;
  std::uint32_t parties;
  std::uint32_t reserved;
};
static_assert(std::is_standard_layout_v<BarrierState>);

enum class BarrierResult { passed, broken };

// The action runs in the last arriving party, with the barrier's lock held; it returns false if
// it failed, which breaks the barrier. `index` gets the arrival index (0 .. parties-1).
using BarrierAction = bool (*)(void* context);
BarrierResult barrier_wait(BarrierState& s, const sys::Deadline& deadline, BarrierAction action,
                           void* context, std::uint32_t& index) noexcept;
void barrier_abort(BarrierState& s) noexcept;
void barrier_reset(BarrierState& s) noexcept;

}  // namespace mp::shm
