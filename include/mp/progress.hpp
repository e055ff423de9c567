// mp/progress.hpp — an opt-in progress display for Pool::map/imap/starmap and the executor's
// map: a bar on stderr, or a callback for programs that draw their own.
//
//   mp::Pool pool(4);
//   auto squares = pool.map(square, xs, mp::Progress::bar());  // on stderr
//   pool.map(square, xs, mp::Progress::callback([](const mp::ProgressInfo& p) {
//     std::printf("%zu of %zu\n", p.done, p.total);
//   }).every(std::chrono::seconds(1)));
//
// On a terminal the bar is redrawn in place,
//   [#########...........]  450/1000  45%  1234.5 it/s  ETA 0:00:03
// and ends with a newline once the work is done. Anywhere else (a pipe, a log file) it prints a
// plain line at most every 5 s, and a final one:
//   progress: 450/1000 (45%) 1234.5/s ETA 1 s
// A default-constructed Progress is off: nothing is drawn and nothing is called.
//
// Differences from Python: multiprocessing has no progress display; this plays the part that
// tqdm plays around pool.imap. Items are counted as their results come back to this process.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <utility>

namespace mp {

namespace detail {
class ProgressReporter;
}

// One report: how far a map has got.
struct ProgressInfo {
  std::size_t done;                             // items whose results have come back
  std::size_t total;                            // items in the map
  double rate;                                  // items per second since the start; 0 at first
  std::chrono::nanoseconds elapsed;             // since the map started
  std::optional<std::chrono::nanoseconds> eta;  // time left at `rate`; none while rate is 0;
                                                // zero once done == total
};

// Whether and how a map reports progress. Cheap to copy.
class Progress {
 public:
  using Callback = std::function<void(const ProgressInfo&)>;

  // Off: no output, no calls.
  Progress() = default;

  // A bar on stderr.
  static Progress bar() { return bar(stderr); }
  // A bar on `stream` (flushed before each draw), or on the descriptor `fd`, which must stay
  // open while the map runs. A terminal gets the redrawn bar, anything else plain lines.
  static Progress bar(std::FILE* stream);
  static Progress bar(int fd);

  // Calls `f` at most once per interval while the map runs and once at the end (done == total
  // when every item finished). Calls never overlap; they run on whichever thread counted the
  // item (usually the pool's result thread), so `f` should be quick. If `f` throws, it is not
  // called again and the map rethrows the exception when it finishes. An empty `f` is off.
  static Progress callback(Callback f);

  // The minimum time between two draws or calls (not counting the final one). Default: 100 ms
  // for a terminal and a callback, 5 s for plain lines.
  Progress& every(std::chrono::nanoseconds interval) {
    interval_ = interval;
    return *this;
  }

  explicit operator bool() const noexcept { return kind_ != Kind::off; }

 private:
  friend class detail::ProgressReporter;
  enum class Kind { off, stream, fd, callback };

  Kind kind_ = Kind::off;
  std::FILE* stream_ = nullptr;
  int fd_ = -1;
  Callback callback_;
  std::optional<std::chrono::nanoseconds> interval_;
};

inline Progress Progress::bar(std::FILE* stream) {
  Progress p;
  if (stream == nullptr) return p;
  p.kind_ = Kind::stream;
  p.stream_ = stream;
  return p;
}

inline Progress Progress::bar(int fd) {
  Progress p;
  if (fd < 0) return p;
  p.kind_ = Kind::fd;
  p.fd_ = fd;
  return p;
}

inline Progress Progress::callback(Callback f) {
  Progress p;
  if (!f) return p;
  p.kind_ = Kind::callback;
  p.callback_ = std::move(f);
  return p;
}

}  // namespace mp
