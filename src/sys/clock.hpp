// sys/clock.hpp — deadlines on CLOCK_MONOTONIC, the clock futex waits and std::steady_clock use.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>

namespace mp::sys {

// An absolute point on the monotonic clock, or "never" (wait forever). One integer, so that it
// travels in a register: copying a 16-byte optional through the stack made every queue operation
// wait for the store buffer to drain (a failed store-to-load forwarding).
class Deadline {
 public:
  static Deadline never() noexcept { return Deadline(kNever); }
  static Deadline after(std::chrono::nanoseconds d) noexcept {
    if (d < std::chrono::nanoseconds::zero()) d = std::chrono::nanoseconds::zero();
    // Saturate instead of overflowing for "practically forever" timeouts.
    if (d > std::chrono::hours(24 * 365 * 100)) return never();
    return Deadline(now_ns() + d.count());
  }
  static Deadline after(std::optional<std::chrono::nanoseconds> d) noexcept {
    return d ? after(*d) : never();
  }

  bool is_never() const noexcept { return at_ == kNever; }
  bool passed() const noexcept { return !is_never() && now_ns() >= at_; }
  // Time left, clamped at zero; nanoseconds::max() when never.
  std::chrono::nanoseconds remaining() const noexcept {
    if (is_never()) return std::chrono::nanoseconds::max();
    const std::int64_t left = at_ - now_ns();
    return std::chrono::nanoseconds(left < 0 ? 0 : left);
  }
  // The earlier of this deadline and `d` from now.
  Deadline capped(std::chrono::nanoseconds d) const noexcept {
    const Deadline other = after(d);
    return other.at_ < at_ ? other : *this;
  }
  timespec as_timespec() const noexcept {
    return timespec{static_cast<time_t>(at_ / 1'000'000'000),
                    static_cast<long>(at_ % 1'000'000'000)};
  }

 private:
  static constexpr std::int64_t kNever = INT64_MAX;
  explicit Deadline(std::int64_t at) : at_(at) {}
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t at_;  // steady_clock nanoseconds; kNever for no deadline
};

}  // namespace mp::sys
