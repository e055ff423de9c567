// services/progress.cpp — mp::detail::ProgressReporter: counts a map's items and draws a bar on
// a terminal, plain lines elsewhere, or calls the user's callback, at most once per interval.
#include "mp/detail/progress_reporter.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include "sys/terminal.hpp"

namespace mp::detail {

namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// A terminal redraw is one cheap line rewritten in place; a plain line stays in a log forever,
// so it comes far less often.
constexpr nanoseconds kTerminalInterval = 100ms;
constexpr nanoseconds kCallbackInterval = 100ms;
constexpr nanoseconds kLineInterval = 5s;
constexpr std::size_t kBarWidth = 20;  // the whole terminal line stays under 80 columns

std::int64_t ticks(TimePoint t) {
  return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

ProgressInfo make_info(std::size_t done, std::size_t total, nanoseconds elapsed) {
  ProgressInfo info{done, total, 0.0, elapsed, std::nullopt};
  const double seconds = std::chrono::duration<double>(elapsed).count();
  if (seconds > 0 && done > 0) info.rate = static_cast<double>(done) / seconds;
  if (done >= total) {
    info.eta = 0ns;
  } else if (info.rate > 0) {
    const double left = static_cast<double>(total - done) / info.rate;
    // Beyond what nanoseconds hold (292 years) the estimate means nothing anyway.
    if (left < 1e9) {
      info.eta = std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(left));
    }
  }
  return info;
}

// Whole percent, rounded down: 999 of 1000 is 99%, not 100%.
unsigned percent(std::size_t done, std::size_t total) {
  if (done >= total) return 100;
  const double p = std::floor(static_cast<double>(done) * 100.0 / static_cast<double>(total));
  return std::min(99u, static_cast<unsigned>(p));
}

// Seconds, rounded up for a time left (an ETA of 0 while work remains would be a lie) and
// down for a time spent.
long long whole_seconds(nanoseconds d, bool round_up) {
  const long long s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return round_up && std::chrono::seconds(s) < d ? s + 1 : s;
}

// "1:02:03": fixed width on a terminal, so that the line does not jitter.
std::string clock_text(nanoseconds d, bool round_up) {
  const long long s = whole_seconds(d, round_up);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

// "3 s", "2 min 5 s", "1 h 2 min": for a person reading a log.
std::string plain_text(nanoseconds d, bool round_up) {
  char buf[48];
  if (!round_up && d < 10s) {
    std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
    return buf;
  }
  const long long s = whole_seconds(d, round_up);
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld min %lld s", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld h %lld min", s / 3600, s / 60 % 60);
  }
  return buf;
}

int digits(std::size_t n) {
  int d = 1;
  while (n >= 10) n /= 10, ++d;
  return d;
}

// "[#########...........]  450/1000  45%  1234.5 it/s  ETA 0:00:03" (without the "\r").
std::string bar_text(const ProgressInfo& info, bool final) {
  const std::size_t filled =
      info.done >= info.total
          ? kBarWidth
          : std::min(kBarWidth - 1, static_cast<std::size_t>(static_cast<double>(info.done) *
                                                             static_cast<double>(kBarWidth) /
                                                             static_cast<double>(info.total)));
  std::string line;
  line.reserve(100);
  line += '[';
  line.append(filled, '#');
  line.append(kBarWidth - filled, '.');
  line += ']';
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %*zu/%zu %3u%%  %.1f it/s  ", digits(info.total), info.done,
                info.total, percent(info.done, info.total), info.rate);
  line += buf;
  line += final ? "elapsed " : "ETA ";
  if (final) {
    line += clock_text(info.elapsed, false);
  } else {
    line += info.eta ? clock_text(*info.eta, true) : "?";
  }
  return line;
}

// "progress: 450/1000 (45%) 1234.5/s ETA 3 s\n"
std::string plain_line(const ProgressInfo& info, bool final) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "progress: %zu/%zu (%u%%) %.1f/s ", info.done, info.total,
                percent(info.done, info.total), info.rate);
  std::string line = buf;
  line += final ? "elapsed " : "ETA ";
  if (final) {
    line += plain_text(info.elapsed, false);
  } else {
    line += info.eta ? plain_text(*info.eta, true) : "?";
  }
  line += '\n';
  return line;
}

}  // namespace

struct ProgressReporter::State {
  // Fixed at construction.
  Progress::Callback callback;  // empty: draw on out_stream / out_fd
  std::FILE* out_stream = nullptr;
  int out_fd = -1;
  bool terminal = false;
  nanoseconds interval{};
  std::size_t total = 0;
  Clock clock = nullptr;
  TimePoint start;

  std::atomic<std::size_t> done{0};
  // When the next periodic report is due (ticks of `clock`); read without the lock so that an
  // advance() between reports costs an atomic add, a clock read and a compare.
  std::atomic<std::int64_t> next_due{0};

  std::mutex mutex;  // one report at a time; guards what follows
  bool finished = false;
  bool broken = false;         // a write failed or the callback threw: no more reports
  std::size_t last_width = 0;  // of the terminal line drawn last, to blank what a shorter hides
  std::exception_ptr error;    // what the callback threw, for finish()

  // With `mutex` held.
  void report(std::size_t count, TimePoint now, bool final) {
    if (broken) return;
    const ProgressInfo info = make_info(count, total, now - start);
    if (callback) {
      try {
        callback(info);
      } catch (...) {
        error = std::current_exception();
        broken = true;
      }
      return;
    }
    std::string text;
    if (terminal) {
      std::string line = bar_text(info, final);
      const std::size_t width = line.size();
      if (width < last_width) line.append(last_width - width, ' ');
      last_width = width;
      text.reserve(line.size() + 2);
      text += '\r';
      text += line;
      if (final) text += '\n';
    } else {
      text = plain_line(info, final);
    }
    const int fd = out_stream != nullptr ? sys::flushed_stream_fd(out_stream) : out_fd;
    // Progress is a courtesy: a display that cannot be written to does not fail the map.
    if (fd < 0 || sys::write_all(fd, text.data(), text.size()) != 0) broken = true;
  }
};

ProgressReporter::ProgressReporter(const Progress& progress, std::size_t total, Clock clock) {
  if (!progress) return;
  auto s = std::make_unique<State>();
  switch (progress.kind_) {
    case Progress::Kind::callback:
      s->callback = progress.callback_;
      break;
    case Progress::Kind::stream:
      s->out_stream = progress.stream_;
      s->terminal = sys::is_terminal(sys::flushed_stream_fd(progress.stream_));
      break;
    case Progress::Kind::fd:
      s->out_fd = progress.fd_;
      s->terminal = sys::is_terminal(progress.fd_);
      break;
    case Progress::Kind::off:
      return;
  }
  const nanoseconds fallback =
      s->callback ? kCallbackInterval : (s->terminal ? kTerminalInterval : kLineInterval);
  s->interval = std::max(nanoseconds::zero(), progress.interval_.value_or(fallback));
  s->total = total;
  s->clock = clock;
  s->start = clock();
  s->next_due.store(ticks(s->start) + s->interval.count(), std::memory_order_relaxed);
  // An empty bar at once: a terminal user sees that the map has started, before its first
  // results come back.
  if (s->terminal) s->report(0, s->start, false);
  state_ = std::move(s);
}

ProgressReporter::~ProgressReporter() {
  try {
    finish();
  } catch (...) {  // the callback's exception, which only finish() hands on
  }
}

void ProgressReporter::advance_on(std::size_t n) {
  State& s = *state_;
  const std::size_t before = s.done.fetch_add(n, std::memory_order_relaxed);
  const std::size_t done = before + n;
  const TimePoint now = s.clock();
  // The advance that reaches the total makes the final report; it must not be skipped.
  const bool completes = before < s.total && done >= s.total;
  if (completes) {
    std::lock_guard lock(s.mutex);
    if (s.finished) return;
    s.finished = true;
    s.report(done, now, true);
    return;
  }
  if (ticks(now) < s.next_due.load(std::memory_order_relaxed)) return;
  // A report is being made by another thread: this one would show about the same.
  std::unique_lock lock(s.mutex, std::try_to_lock);
  if (!lock || s.finished || ticks(now) < s.next_due.load(std::memory_order_relaxed)) return;
  const std::size_t latest = s.done.load(std::memory_order_relaxed);
  if (latest >= s.total) return;  // the final report is on its way; a 100% line before it is noise
  s.next_due.store(ticks(now) + s.interval.count(), std::memory_order_relaxed);
  s.report(latest, now, false);
}

void ProgressReporter::finish() {
  if (!state_) return;
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (!s.finished) {
    s.finished = true;
    s.report(s.done.load(std::memory_order_relaxed), s.clock(), true);
  }
  if (s.error) std::rethrow_exception(std::exchange(s.error, nullptr));
}

}  // namespace mp::detail
