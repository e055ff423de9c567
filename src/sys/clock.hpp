// sys/clock.hpp — deadlines on CLOCK_MONOTONIC, the clock futex waits and std::steady_clock use.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>

namespace mp::sys {

// An absolute point on the monotonic clock, or "never" (wait forever).
class Deadline {
 public:
  static Deadline never() noexcept { return Deadline(); }
  static Deadline after(std::chrono::nanoseconds d) noexcept {
    if (d < std::chrono::nanoseconds::zero()) d = std::chrono::nanoseconds::zero();
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    // Saturate instead of overflowing for "practically forever" timeouts.
    if (d > std::chrono::hours(24 * 365 * 100)) return never();
    return Deadline(now + d);
  }
  static Deadline after(std::optional<std::chrono::nanoseconds> d) noexcept {
    return d ? after(*d) : never();
  }

  bool is_never() const noexcept { return !at_; }
  bool passed() const noexcept {
    return at_ && std::chrono::steady_clock::now().time_since_epoch() >= *at_;
  }
  // Time left, clamped at zero; only meaningful when !is_never().
  std::chrono::nanoseconds remaining() const noexcept {
    if (!at_) return std::chrono::nanoseconds::max();
    auto left = *at_ - std::chrono::steady_clock::now().time_since_epoch();
    return left < std::chrono::nanoseconds::zero() ? std::chrono::nanoseconds::zero() : left;
  }
  // The earlier of this deadline and `d` from now.
  Deadline capped(std::chrono::nanoseconds d) const noexcept {
    Deadline other = after(d);
    return (!at_ || *other.at_ < *at_) ? other : *this;
  }
  timespec as_timespec() const noexcept {
    auto ns = at_->count();
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  }

 private:
  Deadline() = default;
  explicit Deadline(std::chrono::nanoseconds at) : at_(at) {}
  std::optional<std::chrono::nanoseconds> at_;
};

}  // namespace mp::sys
