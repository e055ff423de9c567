// tests/executor_test.cpp — ProcessPoolExecutor and its Futures: submit, map, cancel, callbacks,
// wait, as_completed, shutdown, and a worker that dies.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "mp/executor.hpp"
#include "mp/futures.hpp"
#include "mp/queues.hpp"
#include "mp/synchronize.hpp"
#include "support/children.hpp"
#include "support/executor_behaviour.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"
#include "support/peak_memory.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace behaviour = mp::testing::executor_behaviour;

class ExecutorTest : public mp::testing::LeakCheckedTest {};

// Tests whose tasks need only their arguments run under every start method; those that reach
// the parent's Events through globals (Gates) need fork's copy.
class ExecutorMethodTest : public mp::testing::MethodTest {
 protected:
  mp::ExecutorOptions with_method(mp::ExecutorOptions o = {}) const {
    o.mp_context = ctx();
    return o;
  }
};
MP_INSTANTIATE_FOR_EVERY_METHOD(ExecutorMethodTest);

int square(int n) {
  return n * n;
}
int fail(int) {
  throw std::out_of_range("no such item");
}
int die(int) {
  std::raise(SIGKILL);
  return 0;
}
std::size_t byte_count(std::vector<char> v) {
  return v.size();
}

// Made before an executor, so that its workers (forked from the test) share them.
struct Gates {
  mp::Event started;    // set by a gated task once it runs
  mp::Event release;    // gated tasks wait for it
  mp::Event go[3];      // wait_gate(i) waits for go[i]
  mp::Queue<int> pids;  // report_pid_then_wait puts its worker's pid here
};
Gates* g_gates = nullptr;
int gated(int n) {
  g_gates->started.set();
  if (!g_gates->release.wait_for(30s)) return -1;
  return n;
}
int wait_gate(int i) {
  return g_gates->go[i].wait_for(30s) ? i : -1;
}
int report_pid_then_wait(int n) {
  g_gates->pids.put(static_cast<int>(::getpid()));
  if (!g_gates->release.wait_for(30s)) return -1;
  return n;
}

// While alive, this process may write no file beyond 1 MiB (RLIMIT_FSIZE; the signal that
// comes with EFBIG is ignored meanwhile): a memfd cannot be sized for a large message.
// (Exhausting the descriptors instead would do too, but UBSan's vptr check needs one.)
class NoLargeFiles {
 public:
  NoLargeFiles() {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, rlim_t{1} << 20);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::setrlimit(RLIMIT_FSIZE, &low);
  }
  ~NoLargeFiles() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  NoLargeFiles(const NoLargeFiles&) = delete;
  NoLargeFiles& operator=(const NoLargeFiles&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

double sum_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

// A payload this large (3 MiB) travels out of the queue's ring, in a memfd of its own.
std::vector<char> large_payload() {
  return std::vector<char>(std::size_t{3} << 20, 'x');
}

// The behaviours every executor shares (tests/support/executor_behaviour.hpp; the MPI
// executor's tests run the same bodies).
TEST_P(ExecutorMethodTest, SubmitAndResult) {
  mp::ProcessPoolExecutor ex(2, with_method());
  behaviour::submit_and_result(ex);
}

TEST_P(ExecutorMethodTest, MapKeepsOrderForEveryChunksize) {
  mp::ProcessPoolExecutor ex(3, with_method());
  behaviour::map_keeps_order(ex);
}

TEST_P(ExecutorMethodTest, WaitAndAsCompleted) {
  mp::ProcessPoolExecutor ex(2, with_method());
  behaviour::wait_and_as_completed(ex);
}

TEST_F(ExecutorTest, PendingFuturesCanBeCancelledRunningOnesNot) {
  Gates gates;
  g_gates = &gates;
  mp::ProcessPoolExecutor ex(1);  // one worker, window of two: the rest wait here
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(ex.submit(gated, i));
  ASSERT_TRUE(gates.started.wait_for(30s)) << "the worker never took the first task";
  // fs[0] runs in the worker (it waits for `release`), fs[1] is handed over, fs[2..5] wait here.
  EXPECT_TRUE(fs[0].running());
  EXPECT_FALSE(fs[0].cancel());
  EXPECT_TRUE(fs[1].running());
  EXPECT_FALSE(fs[2].running());
  EXPECT_FALSE(fs[2].done());
  EXPECT_TRUE(fs[5].cancel());
  EXPECT_TRUE(fs[5].cancelled());
  EXPECT_TRUE(fs[5].done());
  EXPECT_THROW(fs[5].result(1s), mp::CancelledError);
  gates.release.set();
  EXPECT_EQ(fs[0].result(30s), 0);
  EXPECT_EQ(fs[1].result(30s), 1);
  ex.shutdown(true, /*cancel_futures=*/true);
  // Each pending future either ran to the end or was cancelled; none is left running.
  for (int i = 2; i < 5; ++i) {
    ASSERT_TRUE(fs[i].done()) << i;
    if (!fs[i].cancelled()) EXPECT_EQ(fs[i].result(1s), i);
  }
  EXPECT_THROW(ex.submit(square, 1), mp::Error);
  g_gates = nullptr;
}

TEST_F(ExecutorTest, ShutdownWithCancelFuturesCancelsThePendingOnes) {
  Gates gates;
  g_gates = &gates;
  mp::ProcessPoolExecutor ex(1);
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(ex.submit(gated, i));
  ASSERT_TRUE(gates.started.wait_for(30s));
  // Nothing can finish before release: fs[2..5] are certainly still pending here.
  ex.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  for (int i = 2; i < 6; ++i) EXPECT_TRUE(fs[i].cancelled()) << i;
  gates.release.set();
  EXPECT_EQ(fs[0].result(30s), 0);
  EXPECT_EQ(fs[1].result(30s), 1);
  ex.shutdown();
  g_gates = nullptr;
}

// A task that cannot be handed to the workers (here: no memory file for its large payload)
// fails its own future, or submit(), with the real error; it never leaves a future running.
TEST_P(ExecutorMethodTest, ATaskThatCannotBeQueuedFailsWithTheRealError) {
  mp::ProcessPoolExecutor ex(1, with_method());
  const auto big = large_payload();
  std::optional<mp::Future<std::size_t>> f;
  std::exception_ptr thrown;
  {
    NoLargeFiles limited;
    try {
      f = ex.submit(byte_count, big);
    } catch (...) {
      thrown = std::current_exception();
    }
  }
  try {
    if (thrown) std::rethrow_exception(thrown);
    ASSERT_TRUE(f.has_value());
    f->result(30s);
    FAIL() << "the task ran without its payload";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EFBIG) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "wrong error: " << e.what();
  }
  if (f) EXPECT_TRUE(f->done());
  EXPECT_EQ(ex.submit(byte_count, big).result(30s), big.size()) << "the executor still works";
  EXPECT_EQ(ex.submit(square, 3).result(30s), 9);
}

// The same when the task waited here and the pool's thread hands it over (as a running task
// finishes): the error reaches its future, and the tasks behind it still run.
TEST_F(ExecutorTest, APendingTaskThatCannotBeQueuedFailsItsFuture) {
  Gates gates;
  g_gates = &gates;
  mp::ProcessPoolExecutor ex(1);  // window of two
  auto first = ex.submit(gated, 1);
  auto second = ex.submit(gated, 2);
  auto big = ex.submit(byte_count, large_payload());  // pending: the window is full
  auto after = ex.submit(square, 4);
  ASSERT_TRUE(gates.started.wait_for(30s));
  EXPECT_FALSE(big.running());
  {
    NoLargeFiles limited;
    gates.release.set();  // `first` ends; the pool's thread tries to hand `big` over
    ASSERT_TRUE(big.wait_done(30s)) << "the future was left running";
  }
  EXPECT_THROW(big.result(1s), std::system_error);
  EXPECT_EQ(first.result(30s), 1);
  EXPECT_EQ(second.result(30s), 2);
  EXPECT_EQ(after.result(30s), 16);
  ex.shutdown();
  g_gates = nullptr;
}

TEST_F(ExecutorTest, CallbacksWaitAndAsCompleted) {
  Gates gates;
  g_gates = &gates;
  mp::ProcessPoolExecutor ex(3);
  std::atomic<int> called{0};
  auto quick = ex.submit(square, 3);
  quick.add_done_callback([&](mp::Future<int>& f) {
    if (f.result() == 9) called.fetch_add(1);
  });
  // Each task ends when the test opens its gate: the order they finish in is the test's.
  std::vector<mp::Future<int>> fs{ex.submit(wait_gate, 0), ex.submit(wait_gate, 1),
                                  ex.submit(wait_gate, 2)};
  auto completed = mp::as_completed(fs);  // notes the order from now on
  gates.go[1].set();
  auto [done, not_done] = mp::wait(fs, 30s, mp::ReturnWhen::first_completed);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result(1s), 1);
  EXPECT_EQ(not_done.size(), 2u);
  gates.go[0].set();
  ASSERT_TRUE(fs[0].wait_done(30s));
  gates.go[2].set();
  std::vector<int> order;
  for (auto& f : completed) order.push_back(f.result(30s));
  EXPECT_EQ(order, (std::vector{1, 0, 2}));
  auto all = mp::wait(fs, 30s);
  EXPECT_EQ(all.done.size(), 3u);
  EXPECT_EQ(quick.result(30s), 9);
  // The first callback runs on the pool's thread just after the future is marked done.
  const auto deadline = Clock::now() + 30s;
  while (called.load() < 1 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(called.load(), 1);
  quick.add_done_callback([&](mp::Future<int>&) { called.fetch_add(1); });  // runs at once
  EXPECT_EQ(called.load(), 2);
  g_gates = nullptr;
}

// A thread waiting in result(timeout) returns about when its timeout passes, whatever another
// future's callback does meanwhile: it runs no callback of another future (Python runs them on
// the executor's thread), even when it reads that future's result in the pool thread's place.
TEST_F(ExecutorTest, ResultWithATimeoutIsNotHeldUpByAnotherFuturesCallback) {
  Gates gates;
  g_gates = &gates;
  mp::ProcessPoolExecutor ex(2);
  auto never = ex.submit(gated, 0);  // runs until the end of the test
  ASSERT_TRUE(gates.started.wait_for(30s));
  // Attempts: the thread that reads `other`'s result is the one waiting, almost always.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto other = ex.submit(wait_gate, attempt);
    auto on_waiter = std::make_shared<std::atomic<bool>>(false);  // the callback may outlive this
    const auto waiter = std::this_thread::get_id();
    other.add_done_callback([on_waiter, waiter](mp::Future<int>&) {
      *on_waiter = std::this_thread::get_id() == waiter;
      std::this_thread::sleep_for(1s);  // a slow callback
    });
    gates.go[attempt].set();
    const auto t0 = Clock::now();
    EXPECT_THROW(never.result(200ms), mp::TimeoutError);
    const auto took = Clock::now() - t0;
    ASSERT_EQ(other.result(30s), attempt);
    EXPECT_LT(took, 700ms) << "result(200ms) ran another future's 1 s callback";
    if (on_waiter->load() || took >= 700ms) break;
  }
  gates.release.set();
  EXPECT_EQ(never.result(30s), 0);
  g_gates = nullptr;
}

TEST_P(ExecutorMethodTest, AWorkerThatDiesFailsOnlyItsFuture) {
  mp::ProcessPoolExecutor ex(2, with_method());
  auto dead = ex.submit(die, 0);
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(square, i));
  EXPECT_THROW(dead.result(30s), mp::WorkerCrashed);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fs[i].result(30s), i * i);
  auto failed = ex.submit(fail, 0);
  EXPECT_THROW(failed.result(10s), std::out_of_range);
  auto [done, not_done] = mp::wait(std::vector{failed}, 1s, mp::ReturnWhen::first_exception);
  EXPECT_EQ(done.size(), 1u);
}

// Killed from outside while it runs a task (known to have started: it reported its pid), a
// worker fails exactly that task; the task running on the other worker is not disturbed.
TEST_F(ExecutorTest, AWorkerKilledMidTaskFailsExactlyThatTask) {
  Gates gates;
  g_gates = &gates;
  mp::ProcessPoolExecutor ex(2);
  auto victim = ex.submit(report_pid_then_wait, 1);
  auto survivor = ex.submit(report_pid_then_wait, 2);
  const int first = gates.pids.get(30s);
  const int second = gates.pids.get(30s);
  ASSERT_NE(first, second);
  // Which worker took which task is not known: kill the first to report, and expect
  // exactly one of the two futures to fail.
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  auto crashed = [](mp::Future<int>& f) {
    try {
      f.result(30s);
      return 0;
    } catch (const mp::WorkerCrashed& e) {
      EXPECT_EQ(e.exitcode(), -SIGKILL);
      return e.pid();
    }
  };
  // The dead worker's future fails without the release; the other's result needs it.
  const auto deadline = Clock::now() + 30s;
  while (!victim.done() && !survivor.done() && Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_NE(victim.done(), survivor.done()) << "one failed at once, the other still runs";
  gates.release.set();
  const int pid_a = crashed(victim);
  const int pid_b = crashed(survivor);
  EXPECT_EQ(pid_a + pid_b, first) << "exactly the killed worker's task fails";
  EXPECT_TRUE(pid_a == 0 || pid_b == 0);
  if (pid_a == 0) EXPECT_EQ(victim.result(1s), 1);
  if (pid_b == 0) EXPECT_EQ(survivor.result(1s), 2);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ex.submit(square, i).result(30s), i * i);
  ex.shutdown();
  g_gates = nullptr;
}

// A worker's initializer that fails once told to (go[0]): the executor breaks then.
void fail_when_told() {
  (void)g_gates->go[0].wait_for(30s);
  throw std::runtime_error("initializer failed");
}
mp::Future<int>* g_first = nullptr;  // a task handed over before the pool broke
// An argument whose encoding breaks the pool, waits until the pool has failed its tasks (the
// one being encoded among them), then throws.
struct BreaksThePoolThenThrows {
  int n = 0;  // not empty: never elided
  template <class Archive>
  void serialize(Archive& ar) {
    if constexpr (std::is_same_v<Archive, mp::detail::OutputArchive>) {
      g_gates->go[0].set();
      (void)mp::wait(std::vector<mp::Future<int>>{*g_first}, 30s);
      throw std::runtime_error("cannot encode");
    }
    ar(n);
  }
};
int take_breaker(BreaksThePoolThenThrows) {
  return 0;
}

// A task the broken pool failed while submit() was encoding it, whose encoding then throws,
// leaves its place in the window once: shutdown() still returns (it waited for ever when the
// place was freed twice, by the failure and by the throw).
TEST_F(ExecutorTest, AnEncodingThatThrowsAfterThePoolBrokeFreesItsPlaceOnce) {
  Gates gates;
  g_gates = &gates;
  auto ex = std::make_unique<mp::ProcessPoolExecutor>(
      1, mp::ExecutorOptions{.initializer = mp::Initializer(fail_when_told)});
  auto first = ex->submit(square, 2);  // handed over: the initializer has not failed yet
  g_first = &first;
  EXPECT_THROW(ex->submit(take_breaker, BreaksThePoolThenThrows{}), std::runtime_error);
  EXPECT_TRUE(first.done());
  mp::Event shut;
  std::thread closer([&] {
    ex->shutdown();
    shut.set();
  });
  const bool ended = shut.wait_for(30s);
  EXPECT_TRUE(ended) << "shutdown() waited for a task counted as still in flight";
  if (ended) {
    closer.join();
  } else {
    closer.detach();  // it waits for ever: leave it, and the executor
    (void)ex.release();
  }
  g_first = nullptr;
  g_gates = nullptr;
}

// While the workers have room, submit() encodes the call from its arguments straight into the
// task queue's body: the submitting process's peak resident set rises by about the argument's
// encoding, not by a copy of the argument and of its encoding too (3x before). Measured in a
// fresh child, its executor made first.
TEST_F(ExecutorTest, ALargeArgumentCostsTheSubmitterAboutItsSize) {
  if (!mp::testing::kPeaksMeanSomething) GTEST_SKIP() << "shadow memory (ThreadSanitizer)";
  constexpr std::size_t kDoubles = std::size_t{8} << 20;  // 64 MiB
  mp::Queue<double> rises;
  mp::Process submitter(
      [](mp::Queue<double> rises) {
        mp::ProcessPoolExecutor ex(1);
        ex.submit(sum_of, std::vector<double>{1.0}).result(30s);  // the worker up, queues touched
        std::vector<double> v(kDoubles);
        std::iota(v.begin(), v.end(), 0.0);
        const double expected = std::accumulate(v.begin(), v.end(), 0.0);
        const double base = mp::testing::reset_peak_resident();
        const double sum = ex.submit(sum_of, v).result(60s);
        const double rise = mp::testing::peak_rise(base);
        rises.put(base < 0 ? -1.0 : sum == expected ? rise : -2.0, 30s);
      },
      rises);
  const auto got = mp::testing::report_of(submitter, rises);
  ASSERT_TRUE(got);
  if (*got == -1.0) GTEST_SKIP() << "this kernel cannot reset a process's peak";
  ASSERT_NE(*got, -2.0) << "the argument arrived damaged";
  constexpr double kArgument = kDoubles * sizeof(double);
  constexpr double kSlack = 16 << 20;  // libraries, stacks, the rings, a sanitizer's shadow
  std::printf("the submitter's peak rose by %.2f x the argument\n", *got / kArgument);
  EXPECT_LE(*got, 1.25 * kArgument + kSlack) << "rose by " << *got / kArgument << " times";
}

}  // namespace
