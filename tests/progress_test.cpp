// tests/progress_test.cpp — the progress display (mp/progress.hpp, detail/progress_reporter.hpp):
// plain rate-limited lines on a pipe, a bar redrawn in place on a pseudo-terminal, the callback's
// reports, and nothing at all when it is off.
//
// Time is a clock the tests move themselves, so what is drawn when never depends on the speed of
// the machine; every read of a pipe or terminal is bounded by a deadline.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/detail/progress_reporter.hpp"
#include "mp/progress.hpp"
#include "support/leak_check.hpp"
#include "sys/clock.hpp"
#include "sys/fd.hpp"
#include "sys/poll.hpp"

namespace {

using namespace std::chrono_literals;
using mp::Progress;
using mp::ProgressInfo;
using mp::detail::ProgressReporter;
using mp::sys::UniqueFd;
using TimePoint = std::chrono::steady_clock::time_point;

// The clock the reporters read in these tests: it moves only when a test says so.
std::atomic<std::int64_t> g_now_ns{0};
std::atomic<int> g_clock_reads{0};

TimePoint fake_now() {
  g_clock_reads.fetch_add(1, std::memory_order_relaxed);
  return TimePoint(std::chrono::nanoseconds(g_now_ns.load()));
}

void set_time(std::chrono::nanoseconds t) {
  g_now_ns.store(t.count());
}

class ProgressTest : public mp::testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    set_time(1h);  // any start; the reporters measure from where it is when they start
    g_clock_reads.store(0);
  }
};

struct Pipe {
  UniqueFd read_end, write_end;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Everything readable from `fd` until EOF (or EIO: a terminal whose other side is closed), or
// until `limit` passes.
std::string read_until_closed(int fd, std::chrono::milliseconds limit = 5s) {
  const auto deadline = mp::sys::Deadline::after(std::chrono::nanoseconds(limit));
  std::string out;
  char buf[4096];
  while (mp::sys::wait_readable(fd, deadline)) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::size_t count(const std::string& s, char c) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), c));
}

// --- plain lines, when the display is not a terminal -----------------------------------------

TEST_F(ProgressTest, PipeGetsRateLimitedPlainLinesAndAFinalOne) {
  Pipe p = make_pipe();
  {
    // Default interval off a terminal: 5 s.
    ProgressReporter r(Progress::bar(p.write_end.get()), 1000, &fake_now);
    set_time(1h + 2500ms);
    r.advance(250);  // not due yet: no line
    set_time(1h + 5s);
    r.advance(250);
    set_time(1h + 10s);
    r.advance(500);  // reaches the total: the final line, at once
    r.finish();
  }
  p.write_end.reset();
  EXPECT_EQ(read_until_closed(p.read_end.get()),
            "progress: 500/1000 (50%) 100.0/s ETA 5 s\n"
            "progress: 1000/1000 (100%) 100.0/s elapsed 10 s\n");
}

TEST_F(ProgressTest, ManyQuickAdvancesWithALongIntervalPrintOnlyTheFinalLine) {
  Pipe p = make_pipe();
  {
    ProgressReporter r(Progress::bar(p.write_end.get()).every(1h), 1000);  // the real clock
    for (int i = 0; i < 1000; ++i) r.advance();
  }
  p.write_end.reset();
  const std::string out = read_until_closed(p.read_end.get());
  EXPECT_EQ(count(out, '\n'), 1u) << out;
  EXPECT_EQ(out.rfind("progress: 1000/1000 (100%) ", 0), 0u) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
}

TEST_F(ProgressTest, AnUnfinishedMapGetsItsFinalLineFromTheDestructor) {
  Pipe p = make_pipe();
  {
    ProgressReporter r(Progress::bar(p.write_end.get()), 10, &fake_now);
    r.advance(4);
    set_time(1h + 2s);
  }
  p.write_end.reset();
  EXPECT_EQ(read_until_closed(p.read_end.get()), "progress: 4/10 (40%) 2.0/s elapsed 2.0 s\n");
}

TEST_F(ProgressTest, AStreamIsFlushedBeforeEachLine) {
  Pipe p = make_pipe();
  std::FILE* stream = ::fdopen(p.write_end.release(), "w");
  ASSERT_NE(stream, nullptr);
  std::setvbuf(stream, nullptr, _IOFBF, 4096);  // fully buffered: nothing leaves on its own
  std::fputs("before\n", stream);
  {
    ProgressReporter r(Progress::bar(stream), 2, &fake_now);
    r.advance(2);
  }
  std::fclose(stream);
  EXPECT_EQ(read_until_closed(p.read_end.get()),
            "before\nprogress: 2/2 (100%) 0.0/s elapsed 0.0 s\n");
}

// --- a bar redrawn in place, on a terminal ----------------------------------------------------

TEST_F(ProgressTest, TerminalGetsABarRedrawnInPlaceEndingWithANewline) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) GTEST_SKIP() << "no pseudo-terminals here (posix_openpt: errno " << errno << ")";
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  const char* name = ::ptsname(master.get());
  ASSERT_NE(name, nullptr);
  UniqueFd terminal(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(terminal);
  {
    ProgressReporter r(Progress::bar(terminal.get()).every(1s), 1000, &fake_now);
    for (int step = 1; step <= 10; ++step) {
      set_time(1h + std::chrono::seconds(step));
      r.advance(100);
    }
  }
  terminal.reset();
  const std::string out = read_until_closed(master.get());

  // 0/1000 at the start, a redraw each second, the final bar: each begins with '\r'. The line
  // discipline turns the final '\n' into "\r\n", and nothing else ends a line.
  EXPECT_GE(count(out, '\r'), 11u) << out;
  EXPECT_EQ(out.rfind("\r[....................]     0/1000   0%  0.0 it/s  ETA ?", 0), 0u) << out;
  EXPECT_NE(out.find("\r[##########..........]   500/1000  50%  100.0 it/s  ETA 0:00:05"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\r[####################]  1000/1000 100%  100.0 it/s  elapsed 0:00:10"),
            std::string::npos)
      << out;
  EXPECT_EQ(count(out, '\n'), 1u) << out;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n') << out;
}

// --- the callback -----------------------------------------------------------------------------

TEST_F(ProgressTest, CallbackIsRateLimitedAndEndsWithDoneEqualToTotal) {
  std::vector<ProgressInfo> calls;
  {
    ProgressReporter r(
        Progress::callback([&](const ProgressInfo& i) { calls.push_back(i); }).every(1s), 1000,
        &fake_now);
    for (int i = 1; i <= 1000; ++i) {
      set_time(1h + i * 10ms);  // 100 items a second
      r.advance();
    }
    r.finish();
  }
  // One call per second of the ten (the tenth is the final one), however many advances.
  ASSERT_EQ(calls.size(), 10u);
  for (std::size_t k = 0; k + 1 < calls.size(); ++k) {
    const ProgressInfo& c = calls[k];
    EXPECT_EQ(c.total, 1000u);
    EXPECT_EQ(c.done, 100 * (k + 1));
    EXPECT_EQ(c.elapsed, std::chrono::seconds(k + 1));
    EXPECT_NEAR(c.rate, 100.0, 1e-6);
    ASSERT_TRUE(c.eta.has_value());
    EXPECT_NEAR(std::chrono::duration<double>(*c.eta).count(),
                static_cast<double>(1000 - c.done) / 100.0, 1e-6);
  }
  const ProgressInfo& last = calls.back();
  EXPECT_EQ(last.done, 1000u);
  EXPECT_EQ(last.total, 1000u);
  EXPECT_EQ(last.elapsed, 10s);
  EXPECT_NEAR(last.rate, 100.0, 1e-6);
  EXPECT_EQ(last.eta, std::chrono::nanoseconds::zero());
}

TEST_F(ProgressTest, CallbackFromManyThreadsNeverOverlapsAndEndsOnce) {
  constexpr std::size_t kThreads = 4, kEach = 2500, kTotal = kThreads * kEach;
  std::atomic<int> inside{0}, overlaps{0};
  std::vector<std::size_t> done_seen;  // written only inside the callback, which never overlaps
  {
    // Interval zero and the real clock: every advance that finds the reporter free reports.
    ProgressReporter r(Progress::callback([&](const ProgressInfo& i) {
                         if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
                         done_seen.push_back(i.done);
                         inside.fetch_sub(1);
                       }).every(0s),
                       kTotal);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&r] {
        for (std::size_t i = 0; i < kEach; ++i) r.advance();
      });
    }
    for (auto& t : threads) t.join();
    r.finish();
  }
  EXPECT_EQ(overlaps.load(), 0);
  ASSERT_FALSE(done_seen.empty());
  EXPECT_EQ(done_seen.back(), kTotal);
  EXPECT_EQ(std::count(done_seen.begin(), done_seen.end(), kTotal), 1);
  EXPECT_TRUE(std::is_sorted(done_seen.begin(), done_seen.end()));
}

TEST_F(ProgressTest, ACallbackThatThrowsIsNotCalledAgainAndFinishRethrows) {
  int calls = 0;
  ProgressReporter r(Progress::callback([&](const ProgressInfo&) {
                       ++calls;
                       throw std::runtime_error("drawing failed");
                     }).every(1s),
                     10, &fake_now);
  set_time(1h + 1s);
  EXPECT_NO_THROW(r.advance());
  set_time(1h + 2s);
  EXPECT_NO_THROW(r.advance(9));  // the total: no final call either
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(r.finish(), std::runtime_error);
  EXPECT_NO_THROW(r.finish());  // once
  EXPECT_EQ(calls, 1);
}

// --- off ----------------------------------------------------------------------------------------

TEST_F(ProgressTest, OffWritesNothingAndReadsNoClock) {
  EXPECT_FALSE(Progress());
  EXPECT_FALSE(Progress().every(1ms));
  EXPECT_FALSE(Progress::callback({}));
  EXPECT_FALSE(Progress::bar(-1));
  EXPECT_FALSE(Progress::bar(static_cast<std::FILE*>(nullptr)));
  EXPECT_TRUE(Progress::bar());
  EXPECT_TRUE(Progress::callback([](const ProgressInfo&) {}));

  // Stderr, where a bar would go, is a pipe while the off reporters run.
  Pipe p = make_pipe();
  std::fflush(stderr);
  UniqueFd saved(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0));
  ASSERT_TRUE(saved);
  ASSERT_EQ(::dup2(p.write_end.get(), STDERR_FILENO), STDERR_FILENO);
  {
    ProgressReporter r(Progress(), 100, &fake_now);
    for (int i = 0; i < 100; ++i) r.advance();
    r.finish();
    ProgressReporter unfinished(Progress::callback({}).every(0s), 100, &fake_now);
    unfinished.advance(50);
  }
  std::fflush(stderr);
  ASSERT_EQ(::dup2(saved.get(), STDERR_FILENO), STDERR_FILENO);
  p.write_end.reset();
  EXPECT_EQ(read_until_closed(p.read_end.get()), "");
  EXPECT_EQ(g_clock_reads.load(), 0);
}

}  // namespace
