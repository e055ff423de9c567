// mp/detail/progress_reporter.hpp — counts a map's finished items and draws or reports them as
// an mp::Progress asks (the drawing is in src/services/progress.cpp).
//
// A map makes one reporter with its total, calls advance() as results come back (from any
// thread) and finish() when it ends. advance() of a reporter whose Progress is off is one
// branch. Draws and callback calls are rate-limited to the Progress's interval; the one for
// done == total is always made, by the advance() that reaches it, or else by finish().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "mp/progress.hpp"

namespace mp::detail {

class ProgressReporter {
 public:
  // Where the reporter reads the time; tests pass a clock they move themselves.
  using Clock = std::chrono::steady_clock::time_point (*)();

  // Starts the clock. On a terminal the bar is drawn at once, at 0/total.
  ProgressReporter(const Progress& progress, std::size_t total,
                   Clock clock = &std::chrono::steady_clock::now);
  // finish(), with the callback's exception (if any) dropped.
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Counts `n` more items done. Thread-safe; never throws (the callback's exception is kept
  // for finish()).
  void advance(std::size_t n = 1) {
    if (state_) advance_on(n);
  }

  // The final report, if advance() has not made it: the final line (ending the terminal's
  // line), or the callback's last call, with the count reached. Idempotent. Rethrows, once,
  // what the callback threw.
  void finish();

 private:
  struct State;
  void advance_on(std::size_t n);

  std::unique_ptr<State> state_;  // null when the Progress is off
};

}  // namespace mp::detail
