// tests/pool_test.cpp — Pool: map, starmap, apply, async results, exceptions carried back,
// workers that die, and the pool's ends (close/join, terminate).
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/pool.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
#include "support/children.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"
#include "support/peak_memory.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class PoolTest : public mp::testing::LeakCheckedTest {};

// The tests whose tasks need nothing from the parent but their arguments run under every start
// method; those that hand tasks the parent's Events through globals (Gates) need fork's copy.
class PoolMethodTest : public mp::testing::MethodTest {
 protected:
  mp::PoolOptions with_method(mp::PoolOptions o = {}) const {
    o.context = ctx();
    return o;
  }
};
MP_INSTANTIATE_FOR_EVERY_METHOD(PoolMethodTest);

int square(int n) {
  return n * n;
}
int add(int a, int b) {
  return a + b;
}
std::string repeat(std::string s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}
int my_pid(int) {
  return static_cast<int>(::getpid());
}
int my_parent(int) {
  return static_cast<int>(::getppid());
}
int my_pid_slowly(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<int>(::getpid());
}
int fail_on_three(int n) {
  if (n == 3) throw std::invalid_argument("three is not allowed");
  return n;
}
struct Custom : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int throw_custom(int) {
  throw Custom("custom failure");
}
int die_on_seven(int n) {
  if (n == 7) std::raise(SIGKILL);
  return n;
}
int abort_now() {
  std::abort();
}
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// Large arguments and results: their bytes say where they came from.
std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}
// Whether `s` is pattern(s.size(), seed), and its size: -1 when it is not.
std::int64_t check_pattern(std::string s, int seed) {
  return s == pattern(s.size(), seed) ? static_cast<std::int64_t>(s.size()) : -1;
}
std::string make_pattern(std::size_t n, int seed) {
  return pattern(n, seed);
}
double sum_of(std::vector<double> v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

// A worker's own: a large value made ahead of a task that returns it, and the worker's peak
// resident set as it was before (see LargeResultCostsEachSideAboutItsSize).
std::vector<double> g_big;
double g_worker_base = -1;
double make_big_then_reset_peak(std::size_t n) {
  g_big.assign(n, 0.0);
  std::iota(g_big.begin(), g_big.end(), 0.0);
  g_worker_base = mp::testing::reset_peak_resident();
  return g_worker_base;
}
double reset_worker_peak(int) {
  g_worker_base = mp::testing::reset_peak_resident();
  return g_worker_base;
}
std::vector<double> take_big(int) {
  return std::move(g_big);
}
double worker_peak_rise(int) {
  return g_worker_base < 0 ? -1.0 : mp::testing::peak_rise(g_worker_base);
}

// Made before a pool, so that its workers (forked from the test) share them.
struct Gates {
  mp::Event started;     // set by a gated task once it runs
  mp::Event release;     // gated tasks wait for it
  mp::Queue<int> pids;   // report_pid_then_wait puts its worker's pid here
  mp::Barrier three{3};  // pid_at_barrier waits here
};
Gates* g_gates = nullptr;
int gated(int n) {
  g_gates->started.set();
  if (!g_gates->release.wait_for(30s)) return -1;
  return n;
}
int zero_waits_for_release(int n) {  // the others return at once
  if (n == 0 && !g_gates->release.wait_for(30s)) return -1;
  return n;
}
int report_pid_then_wait(int n) {
  g_gates->pids.put(static_cast<int>(::getpid()));
  if (!g_gates->release.wait_for(30s)) return -1;
  return n;
}
int pid_at_barrier(int) {
  g_gates->three.wait(30s);  // three workers at once, or BrokenBarrierError
  return static_cast<int>(::getpid());
}

struct Scale {  // an encodable function object
  int factor = 1;
  int operator()(int x) const { return factor * x; }
  template <class A>
  void serialize(A& ar) {
    ar(factor);
  }
};

TEST_P(PoolMethodTest, MapKeepsOrderAcrossChunksizes) {
  mp::Pool pool(3, with_method());
  std::vector<int> xs(100);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<int> expected;
  for (int x : xs) expected.push_back(x * x);
  EXPECT_EQ(pool.map(square, xs), expected);
  EXPECT_EQ(pool.map(square, xs, 1), expected);
  EXPECT_EQ(pool.map(square, xs, 1000), expected);
  EXPECT_TRUE(pool.map(square, std::vector<int>{}).empty());
}

std::string shout(std::string s) {
  return s + "!";
}
bool is_odd(int x) {
  return x % 2 != 0;
}
int from_bool(bool b) {
  return b ? 7 : 3;
}
long twice(long x) {
  return 2 * x;
}

// Plain-bytes items and results go through the chunk's bytes in place; anything else (strings,
// vector<bool>'s bits, a range that is not a vector) through vectors. Both must give the same.
TEST_P(PoolMethodTest, MapCarriesPlainAndOtherElementsAlike) {
  mp::Pool pool(2, with_method());
  std::vector<std::string> words;
  std::vector<std::string> shouted;
  for (int i = 0; i < 300; ++i) {
    words.push_back(std::string(static_cast<std::size_t>(i % 40), 'a' + i % 26));
    shouted.push_back(words.back() + "!");
  }
  EXPECT_EQ(pool.map(shout, words), shouted);
  EXPECT_EQ(pool.map(shout, words, 7), shouted);

  std::vector<int> xs(1000);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<bool> odd;
  std::vector<int> from_odd;
  for (int x : xs) {
    odd.push_back(x % 2 != 0);
    from_odd.push_back(x % 2 != 0 ? 7 : 3);
  }
  EXPECT_EQ(pool.map(is_odd, xs, 33), odd);           // results as vector<bool>
  EXPECT_EQ(pool.map(from_bool, odd, 33), from_odd);  // items from vector<bool>

  std::list<long> longs;  // not contiguous: copied into the map's own vector first
  std::vector<long> doubled;
  for (long i = 0; i < 20'000; ++i) {
    longs.push_back(i - 10'000);
    doubled.push_back(2 * (i - 10'000));
  }
  EXPECT_EQ(pool.map(twice, longs), doubled);
  EXPECT_EQ(pool.map(twice, std::vector<long>(longs.begin(), longs.end()), 999), doubled);
}

// A chunk encoded from the caller's items in place is byte for byte what encoding the vector of
// them makes (what the worker decodes), and a result of the wrong length is refused.
TEST(PoolChunkWireTest, ChunksEncodedInPlaceMatchTheVectorEncoding) {
  auto same = [](auto f, const auto& items) {
    using Item = typename std::decay_t<decltype(items)>::value_type;
    std::vector<std::byte> in_place(mp::detail::kTaskHeaderSpace);
    mp::detail::encode_chunk_into(f, std::span<const Item>(items), in_place);
    EXPECT_EQ(in_place, mp::detail::encode_chunk(f, items));
  };
  same(&twice, std::vector<long>{1, -2, 3});
  same(&twice, std::vector<long>{});
  same(&shout, std::vector<std::string>{"a", "", "bcd"});
  same(Scale{3}, std::vector<int>{4, 5});
  same([](int x) { return x; }, std::vector<int>{6});

  std::vector<std::byte> three;
  mp::detail::encode_payload_into(std::vector<long>{1, 2, 3}, three);
  std::vector<long> into(3);
  mp::detail::decode_chunk_results<long>(three, into);
  EXPECT_EQ(into, (std::vector<long>{1, 2, 3}));
  std::vector<long> four(4);
  EXPECT_THROW(mp::detail::decode_chunk_results<long>(three, four), mp::ProtocolError);
  three.push_back(std::byte{0});
  EXPECT_THROW(mp::detail::decode_chunk_results<long>(three, into), mp::ProtocolError);
}

TEST_P(PoolMethodTest, ImapKeepsOrderAndBothCarryErrors) {
  mp::Pool pool(3, with_method());
  std::vector<int> got;
  for (int x : pool.imap(square, std::vector{1, 2, 3, 4, 5})) got.push_back(x);
  EXPECT_EQ(got, (std::vector{1, 4, 9, 16, 25}));
  got.clear();
  for (int x : pool.imap(square, std::vector{1, 2, 3, 4, 5}, 2)) got.push_back(x);
  EXPECT_EQ(got, (std::vector{1, 4, 9, 16, 25}));
  EXPECT_TRUE(pool.imap(square, std::vector<int>{}).begin() == std::default_sentinel);
  EXPECT_TRUE(pool.imap_unordered(square, std::vector<int>{}).begin() == std::default_sentinel);
  auto failing = pool.imap(fail_on_three, std::vector{1, 2, 3, 4});
  got.clear();
  EXPECT_THROW(
      {
        for (int x : failing) got.push_back(x);
      },
      std::invalid_argument);
  EXPECT_EQ(got, (std::vector{1, 2})) << "items before the failing one are delivered";
  int seen = 0;
  EXPECT_THROW(
      {
        for (int x : pool.imap_unordered(fail_on_three, std::vector{3})) seen += x;
      },
      std::invalid_argument);
  EXPECT_THROW(pool.imap(square, std::vector{1}, 0), mp::ValueError);
}

TEST_F(PoolTest, ImapUnorderedYieldsResultsAsTheyCome) {
  Gates gates;
  g_gates = &gates;
  mp::Pool pool(3);
  // Item 0 finishes only once the others have been received: it must come last.
  std::vector<int> order;
  for (int x : pool.imap_unordered(zero_waits_for_release, std::vector{0, 1, 2})) {
    order.push_back(x);
    if (order.size() == 2) gates.release.set();
  }
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.back(), 0);
  EXPECT_EQ(std::set<int>(order.begin(), order.end()), (std::set<int>{0, 1, 2}));
  g_gates = nullptr;
}

TEST_F(PoolTest, WorkIsSpreadOverTheWorkers) {
  Gates gates;
  g_gates = &gates;
  mp::Pool pool(3);
  // Each task waits at a barrier for three parties: only three workers at once can pass it.
  auto pids = pool.map_async(pid_at_barrier, std::vector<int>(3, 0), 1).get(60s);
  std::set<int> distinct(pids.begin(), pids.end());
  EXPECT_EQ(distinct.size(), 3u);
  EXPECT_EQ(distinct.count(static_cast<int>(::getpid())), 0u) << "ran in the caller";
  g_gates = nullptr;
}

TEST_P(PoolMethodTest, ApplyStarmapLambdasAndFunctionObjects) {
  mp::Pool pool(2, with_method());
  EXPECT_EQ(pool.apply(add, 2, 3), 5);
  EXPECT_EQ(pool.apply(repeat, std::string("ab"), 3), "ababab");
  EXPECT_EQ(pool.apply([](int x) { return x + 1; }, 41), 42);
  EXPECT_EQ(pool.apply(Scale{3}, 5), 15);
  EXPECT_EQ(pool.map(Scale{-1}, std::vector{1, 2}), (std::vector{-1, -2}));
  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(pool.starmap(add, pairs), (std::vector{3, 7, 11}));
  pool.apply([] {});  // void
}

TEST_F(PoolTest, AsyncResults) {
  Gates gates;
  g_gates = &gates;
  mp::Pool pool(2);
  auto slow = pool.apply_async(gated, 300);  // runs until the test releases it
  ASSERT_TRUE(gates.started.wait_for(30s));
  EXPECT_FALSE(slow.ready());
  EXPECT_THROW(slow.successful(), mp::ValueError);
  EXPECT_THROW(slow.get(10ms), mp::TimeoutError);
  EXPECT_FALSE(slow.wait_for(10ms));
  gates.release.set();
  EXPECT_EQ(slow.get(30s), 300);
  EXPECT_TRUE(slow.ready());
  EXPECT_TRUE(slow.successful());
  EXPECT_EQ(slow.get(1s), 300);  // again
  auto many = pool.map_async(square, std::vector{1, 2, 3});
  EXPECT_EQ(many.get(30s), (std::vector{1, 4, 9}));
  g_gates = nullptr;
}

TEST_P(PoolMethodTest, ExceptionsComeBackWithTheirType) {
  mp::Pool pool(2, with_method());
  auto r = pool.apply_async(fail_on_three, 3);
  EXPECT_THROW(r.get(10s), std::invalid_argument);
  EXPECT_FALSE(r.successful());
  try {
    pool.map(fail_on_three, std::vector{1, 2, 3, 4});
    FAIL() << "map should have thrown";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "three is not allowed");
  }
  try {
    pool.apply(throw_custom, 1);
    FAIL() << "apply should have thrown";
  } catch (const mp::RemoteError& e) {
    EXPECT_NE(e.type_name().find("Custom"), std::string::npos) << e.type_name();
    EXPECT_NE(std::string(e.what()).find("custom failure"), std::string::npos);
  }
  EXPECT_EQ(pool.apply(square, 4), 16) << "the pool still works";
}

TEST_P(PoolMethodTest, AWorkerKilledMidTaskFailsOnlyThatTask) {
  mp::Pool pool(2, with_method());
  std::vector<mp::AsyncResult<int>> results;
  for (int i = 0; i < 20; ++i) results.push_back(pool.apply_async(die_on_seven, i));
  for (int i = 0; i < 20; ++i) {
    if (i == 7) {
      try {
        results[i].get(30s);
        FAIL() << "task 7 should have failed";
      } catch (const mp::WorkerCrashed& e) {
        EXPECT_EQ(e.exitcode(), -SIGKILL);
        EXPECT_GT(e.pid(), 0);
      }
    } else {
      EXPECT_EQ(results[i].get(30s), i);
    }
  }
  auto aborted = pool.apply_async(abort_now);
  EXPECT_THROW(aborted.get(30s), mp::WorkerCrashed);
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
}

// Killed from outside while it runs a task (known to have started: it reported its pid), a
// worker fails exactly that task; the task on the other worker, and later ones, are not touched.
TEST_F(PoolTest, AWorkerKilledFromOutsideMidTaskFailsExactlyThatTask) {
  Gates gates;
  g_gates = &gates;
  mp::Pool pool(2);
  auto a = pool.apply_async(report_pid_then_wait, 1);
  auto b = pool.apply_async(report_pid_then_wait, 2);
  const int first = gates.pids.get(30s);
  const int second = gates.pids.get(30s);
  ASSERT_NE(first, second);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // The killed worker's task fails without the release; the other one's needs it.
  const auto deadline = Clock::now() + 30s;
  while (!a.ready() && !b.ready() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_NE(a.ready(), b.ready()) << "one task failed at once, the other still runs";
  auto& killed = a.ready() ? a : b;
  auto& other = a.ready() ? b : a;
  try {
    killed.get(1s);
    FAIL() << "the killed worker's task succeeded";
  } catch (const mp::WorkerCrashed& e) {
    EXPECT_EQ(e.pid(), first);
    EXPECT_EQ(e.exitcode(), -SIGKILL);
  }
  gates.release.set();
  EXPECT_EQ(other.get(30s), &other == &a ? 1 : 2);
  EXPECT_EQ(pool.map_async(square, std::vector{1, 2, 3}).get(30s), (std::vector{1, 4, 9}));
  g_gates = nullptr;
}

TEST_P(PoolMethodTest, WorkersKilledFromOutsideAreReplaced) {
  mp::Pool pool(2, with_method());
  auto first = pool.map_async(my_pid, std::vector<int>(50, 0), 1).get(30s);
  const std::set<int> old(first.begin(), first.end());
  for (int pid : old) ASSERT_EQ(::kill(pid, SIGKILL), 0);
  std::vector<int> xs(50), expected;
  std::iota(xs.begin(), xs.end(), 0);
  for (int x : xs) expected.push_back(x * x);
  EXPECT_EQ(pool.map_async(square, xs).get(30s), expected);
  auto now = pool.map_async(my_pid_slowly, std::vector<int>(20, 1), 1).get(30s);
  for (int pid : now) EXPECT_EQ(old.count(pid), 0u) << "a killed worker ran a task";
}

int g_initialized = 0;
void initialize() {
  g_initialized = 42;
}
int read_initialized(int) {
  return g_initialized;
}

TEST_P(PoolMethodTest, InitializerAndMaxTasksPerChild) {
  mp::Pool pool(2, with_method({.initializer = initialize, .maxtasksperchild = 3}));
  auto seen = pool.map(read_initialized, std::vector<int>(20, 0), 1);
  for (int v : seen) EXPECT_EQ(v, 42);
  auto pids = pool.map(my_pid, std::vector<int>(30, 0), 1);
  EXPECT_GE(std::set<int>(pids.begin(), pids.end()).size(), 10u) << "workers were not replaced";
}

TEST_F(PoolTest, CloseJoinAndTerminate) {
  {
    mp::Pool pool(2);
    auto r = pool.apply_async(sleep_ms, 100);
    EXPECT_THROW(pool.join(), mp::ValueError) << "join before close";
    pool.close();
    EXPECT_THROW(pool.apply_async(square, 1), mp::ValueError);
    pool.join();  // waits for the queued task
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(r.get(1s), 100);
  }
  {
    Gates gates;
    g_gates = &gates;
    mp::Pool pool(2);
    auto r = pool.apply_async(gated, 1);  // runs until the pool is terminated
    ASSERT_TRUE(gates.started.wait_for(30s));
    const auto t0 = Clock::now();
    pool.terminate();
    EXPECT_LT(Clock::now() - t0, 10s) << "terminate waited for the running task (30 s)";
    EXPECT_THROW(r.get(1s), mp::BrokenProcessPool);
    g_gates = nullptr;
  }
  {
    mp::Pool pool(2);
    pool.apply_async(sleep_ms, 20'000);
  }  // the destructor terminates, as Python's `with`
}

// A thread waiting for its result reads the pool's results meanwhile (PoolCore's reader); the
// pool's thread still runs the callbacks of results that reader reads, as Python runs them there.
TEST_F(PoolTest, ACallbackRunsOnThePoolsThreadWhileAnotherThreadReadsTheResults) {
  Gates gates;
  g_gates = &gates;
  mp::Pool pool(2);
  std::thread::id reader_id;
  int reader_got = 0;
  std::thread reader([&] {
    reader_id = std::this_thread::get_id();
    reader_got = pool.apply(gated, 1);  // waits, reading results, until the callback below ran
  });
  ASSERT_TRUE(gates.started.wait_for(30s));
  std::atomic<bool> ran_here{false};
  std::thread::id callback_id;
  auto r = pool.apply_async(square, 3, mp::callbacks([&](int) {
                              callback_id = std::this_thread::get_id();
                              ran_here = callback_id == reader_id;
                              gates.release.set();
                            }));
  EXPECT_EQ(r.get(30s), 9);
  reader.join();  // bounded: gated gives up after 30 s
  EXPECT_EQ(reader_got, 1);
  EXPECT_FALSE(ran_here.load()) << "the callback ran on the thread reading the results";
  EXPECT_NE(callback_id, std::this_thread::get_id());
  g_gates = nullptr;
}

// Threads waiting at once: one reads, and hands the others their results.
TEST_F(PoolTest, ThreadsWaitingAtOnceEachGetTheirOwnResults) {
  mp::Pool pool(2);
  constexpr int kThreads = 4;
  constexpr int kCalls = 300;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const int x = t * kCalls + i;
        if (i % 3 == 0) {
          if (pool.apply_async(square, x).get(30s) != x * x) ++wrong[t];
        } else if (pool.apply(square, x) != x * x) {
          ++wrong[t];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(kThreads, 0));
}

// terminate() ends the wait of a thread that reads the results in the pool thread's place.
TEST_F(PoolTest, TerminateEndsTheWaitOfAThreadReadingTheResults) {
  Gates gates;
  g_gates = &gates;
  mp::Pool pool(2);
  std::atomic<int> outcome{0};  // 1: BrokenProcessPool, 2: a value, 3: another error
  std::thread reader([&] {
    try {
      pool.apply(gated, 1);
      outcome = 2;
    } catch (const mp::BrokenProcessPool&) {
      outcome = 1;
    } catch (...) {
      outcome = 3;
    }
  });
  ASSERT_TRUE(gates.started.wait_for(30s));
  const auto t0 = Clock::now();
  pool.terminate();
  reader.join();  // bounded: gated gives up after 30 s
  EXPECT_LT(Clock::now() - t0, 10s) << "the reader waited for the running task (30 s)";
  EXPECT_EQ(outcome.load(), 1);
  g_gates = nullptr;
}

// join() returns once every task's result has been delivered, also one that a thread waiting in
// get() is delivering meanwhile (its Done runs on that thread: here the map's progress callback,
// held until join() has had its chance to return).
TEST_F(PoolTest, JoinWaitsForAResultThatAWaitingThreadIsStillDelivering) {
  // Which thread reads the result is a race (the waiting thread must take the queue over before
  // the result comes): tried until the waiting thread does, which it does about every other time.
  for (int attempt = 0; attempt < 20; ++attempt) {
    Gates gates;
    g_gates = &gates;
    mp::Event in_callback;
    mp::Event leave_callback;
    mp::Event joined;
    std::atomic<std::thread::id> reader_id{};
    std::atomic<bool> on_reader{false};
    std::atomic<bool> callback_returned{false};
    mp::PoolOptions options;
    options.progress = mp::Progress::callback([&](const mp::ProgressInfo& p) {
      if (p.done != p.total) return;
      on_reader = std::this_thread::get_id() == reader_id.load();
      in_callback.set();
      leave_callback.wait_for(30s);
      callback_returned = true;
    });
    mp::Pool pool(1, options);
    std::vector<int> got;
    std::thread reader([&] {
      reader_id = std::this_thread::get_id();
      got = pool.map(gated, std::vector<int>{7});  // reads the result itself, runs the callback
    });
    ASSERT_TRUE(gates.started.wait_for(30s));
    gates.release.set();
    ASSERT_TRUE(in_callback.wait_for(30s));
    if (!on_reader.load()) {  // the pool's thread read the result: again
      leave_callback.set();
      reader.join();
      g_gates = nullptr;
      continue;
    }
    pool.close();
    std::atomic<bool> delivered_at_join{false};
    std::thread joiner([&] {
      pool.join();
      delivered_at_join = callback_returned.load();
      joined.set();
    });
    // A join() that does not wait for the delivery returns at once; one that does returns only
    // after leave_callback (this wait then only costs its time).
    joined.wait_for(500ms);
    leave_callback.set();
    joiner.join();  // bounded: the callback leaves now
    reader.join();
    EXPECT_TRUE(delivered_at_join.load())
        << "join() returned while a waiting thread was still delivering a task's result";
    EXPECT_EQ(got, std::vector<int>{7});
    g_gates = nullptr;
    return;
  }
  GTEST_SKIP() << "in 20 tries the pool's thread always read the result, never the waiting thread";
}

// join() in one thread while another terminates the pool: it returns (it used to wait for ever
// for the task terminate() had failed), and only once the workers are gone, the worker reaped and
// its task failed (it then returned as terminate() began).
TEST_F(PoolTest, JoinEndedByAnotherThreadsTerminateReturnsOnceTheWorkersAreGone) {
  Gates gates;
  g_gates = &gates;
  auto pool = std::make_unique<mp::Pool>(1);
  auto r = pool->apply_async(report_pid_then_wait, 1);  // runs until the pool is terminated
  const int pid = gates.pids.get(30s);
  pool->close();
  mp::Event joining, joined;
  bool ready_after_join = false;
  int worker_gone = 0;  // errno of kill(pid, 0) right after join() returned
  std::thread joiner([&] {
    joining.set();
    pool->join();
    ready_after_join = r.ready();
    worker_gone = ::kill(pid, 0) == 0 ? 0 : errno;
    joined.set();
  });
  ASSERT_TRUE(joining.wait_for(30s));
  pool->terminate();  // before, during or after the joiner's join(): the same
  if (!joined.wait_for(30s)) {
    ADD_FAILURE() << "join() went on waiting after terminate()";
    gates.release.set();  // the task ends; the join may still wait: leave it, and the pool
    joiner.detach();
    pool.release();
    return;
  }
  joiner.join();
  EXPECT_TRUE(ready_after_join) << "join() returned before terminate() had failed the task";
  EXPECT_EQ(worker_gone, ESRCH) << "join() returned before the worker was reaped";
  EXPECT_THROW(r.get(1s), mp::BrokenProcessPool);
  g_gates = nullptr;
}

// Around the limit of what a queue's ring holds (a quarter of its 4 MiB), below and above it: the
// caller encodes a task straight into the task queue, switching to a body on the way.
TEST_P(PoolMethodTest, LargeArgumentsAndResultsAroundTheRingsLimitRoundTrip) {
  mp::Pool pool(2, with_method());
  std::vector<std::size_t> sizes{0, 1000, 3u << 20, 9u << 20};
  for (std::size_t n = (1u << 20) - 160; n <= (1u << 20) + 32; n += 4) sizes.push_back(n);
  std::vector<mp::AsyncResult<std::int64_t>> checks;
  std::vector<mp::AsyncResult<std::string>> made;
  int seed = 0;
  for (std::size_t n : sizes) {
    checks.push_back(pool.apply_async(check_pattern, pattern(n, seed), seed));
    made.push_back(pool.apply_async(make_pattern, n, seed));
    ++seed;
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(checks[i].get(60s), static_cast<std::int64_t>(sizes[i]))
        << "argument of " << sizes[i];
    EXPECT_EQ(made[i].get(60s), pattern(sizes[i], static_cast<int>(i))) << "result of " << sizes[i];
  }
}

// Fails to encode after a large part of the task was written (into a body).
struct Unsendable {
  template <class A>
  void serialize(A&) {
    throw std::runtime_error("unsendable");
  }
};
std::int64_t size_of(std::string s, Unsendable) {
  return static_cast<std::int64_t>(s.size());
}

// A task whose encoding throws is not queued and not left pending: the error comes out of apply,
// the pool goes on, and join (which waits for every pending task) returns. In a child, so that a
// join that never returns is killed.
TEST_F(PoolTest, ATaskThatCannotBeEncodedIsNotLeftPending) {
  mp::Queue<int> out;
  mp::Process p(
      [](mp::Queue<int> out) {
        mp::Pool pool(1);
        int score = 0;
        for (std::size_t n : {std::size_t{10}, std::size_t{5} << 20}) {
          try {
            pool.apply(size_of, std::string(n, 'x'), Unsendable{});
          } catch (const std::runtime_error& e) {
            if (std::string(e.what()) == "unsendable") ++score;
          }
        }
        if (pool.apply(check_pattern, pattern(3 << 20, 7), 7) == (3 << 20)) ++score;
        pool.close();
        pool.join();
        out.put(score, 30s);
      },
      out);
  p.start();
  const auto score = out.try_get(60s);
  if (!score) p.kill();
  ASSERT_TRUE(p.join(30s));
  ASSERT_TRUE(score) << "the pool hung";
  EXPECT_EQ(*score, 3);
  EXPECT_EQ(p.exitcode(), 0);
}

constexpr std::size_t kPeakDoubles = std::size_t{8} << 20;  // a 64 MiB argument

// The caller encodes a large argument straight into the task queue's body: its peak resident set
// rises by about the argument's encoding, not by copies of the argument and of its encoding too.
// Measured in a fresh child (the test process's peak says nothing), its pool made first.
TEST_F(PoolTest, ALargeArgumentCostsTheCallerAboutItsSize) {
  if (!mp::testing::kPeaksMeanSomething) GTEST_SKIP() << "shadow memory (ThreadSanitizer)";
  mp::Queue<double> rises;
  mp::Process caller(
      [](mp::Queue<double> rises) {
        mp::Pool pool(1);
        pool.apply(square, 3);  // the worker up and the queues touched
        std::vector<double> v(kPeakDoubles);
        std::iota(v.begin(), v.end(), 0.0);
        const double expected = std::accumulate(v.begin(), v.end(), 0.0);
        const double base = mp::testing::reset_peak_resident();
        const double sum = pool.apply(sum_of, v);
        const double rise = mp::testing::peak_rise(base);
        rises.put(base < 0 ? -1.0 : sum == expected ? rise : -2.0, 30s);
      },
      rises);
  const auto got = mp::testing::report_of(caller, rises);
  ASSERT_TRUE(got);
  const double rise = *got;
  if (rise == -1.0) GTEST_SKIP() << "this kernel cannot reset a process's peak";
  ASSERT_NE(rise, -2.0) << "the argument arrived damaged";
  constexpr double kArgument = kPeakDoubles * sizeof(double);
  constexpr double kSlack = 16 << 20;  // libraries, stacks, the rings, a sanitizer's shadow
  std::printf("the caller's peak rose by %.2f x the argument\n", rise / kArgument);
  EXPECT_LE(rise, 1.25 * kArgument + kSlack) << "rose by " << rise / kArgument << " times";
}

// A worker encodes a large result straight into the result queue's body, and the pool's thread
// decodes it from there as the body's pages are given back: the worker's peak resident set rises
// by about the result's encoding (the value was made before its peak was reset and is moved out),
// the caller's by about the value it receives (it was twice that while the whole body stayed
// mapped beside the value). One worker, so that every task goes to it. (The worker's bound held
// before it wrote into the body directly too: its value died before the reply vector was copied
// into the body; what it saves there is a copy, not memory.)
TEST_F(PoolTest, ALargeResultAndArgumentCostTheWorkerAndTheCallerAboutTheirSize) {
  if (!mp::testing::kPeaksMeanSomething) GTEST_SKIP() << "shadow memory (ThreadSanitizer)";
  mp::Queue<std::vector<double>> rises;
  mp::Process caller(
      [](mp::Queue<std::vector<double>> rises) {
        mp::Pool pool(1);
        const double worker_base = pool.apply(make_big_then_reset_peak, kPeakDoubles);
        const double base = mp::testing::reset_peak_resident();
        const std::vector<double> v = pool.apply(take_big, 0);
        const double caller_rise = mp::testing::peak_rise(base);
        const double worker_rise = pool.apply(worker_peak_rise, 0);
        const bool intact =
            v.size() == kPeakDoubles && v[12345] == 12345.0 && v.back() == kPeakDoubles - 1.0;
        // A large argument: the worker decodes it from the task's body as it gives the body's
        // pages back, and moves it into the call.
        const double taking_base = pool.apply(reset_worker_peak, 0);
        const bool summed = pool.apply(sum_of, v) == std::accumulate(v.begin(), v.end(), 0.0);
        const double taking_rise = pool.apply(worker_peak_rise, 0);
        const double refused = base < 0 || worker_base < 0 || taking_base < 0 ? 1.0 : 0.0;
        rises.put({refused, intact && summed ? 1.0 : 0.0, caller_rise, worker_rise, taking_rise},
                  30s);
      },
      rises);
  const auto got = mp::testing::report_of(caller, rises);
  ASSERT_TRUE(got);
  const std::vector<double>& r = *got;
  ASSERT_EQ(r.size(), 5u);
  if (r[0] != 0.0) GTEST_SKIP() << "this kernel cannot reset a process's peak";
  ASSERT_EQ(r[1], 1.0) << "the result or the argument arrived damaged";
  constexpr double kResult = kPeakDoubles * sizeof(double);
  constexpr double kSlack = 16 << 20;  // libraries, stacks, the rings, a sanitizer's shadow
  std::printf(
      "peak rises: caller %.2f x the result, worker %.2f x (sending it), worker %.2f x "
      "(taking it as an argument)\n",
      r[2] / kResult, r[3] / kResult, r[4] / kResult);
  EXPECT_LE(r[2], 1.25 * kResult + kSlack) << "the caller's rose by " << r[2] / kResult;
  EXPECT_LE(r[3], 1.25 * kResult + kSlack) << "the worker's rose by " << r[3] / kResult;
  EXPECT_LE(r[4], 1.25 * kResult + kSlack) << "taking it, the worker's rose by " << r[4] / kResult;
}

// A fork pool's first workers are forked by the caller's thread; replacements are forked by the
// pool's zygote (a copy made before the pool's thread existed), never by the pool's thread. If
// the zygote is killed, replacements come from the forkserver.
TEST_F(PoolTest, AForkPoolReplacesWorkersFromItsZygoteThenFromTheForkserver) {
  mp::Pool pool(1, mp::PoolOptions{.context = mp::get_context(mp::StartMethod::fork)});
  const int self = static_cast<int>(::getpid());
  EXPECT_EQ(pool.apply(my_parent, 0), self);
  EXPECT_THROW(pool.apply(die_on_seven, 7), mp::WorkerCrashed);
  const int zygote = pool.apply(my_parent, 0);
  EXPECT_NE(zygote, self) << "the replacement was forked by the pool's process";
  EXPECT_EQ(pool.apply(square, 6), 36);
  ASSERT_EQ(::kill(zygote, SIGKILL), 0);
  EXPECT_THROW(pool.apply(die_on_seven, 7), mp::WorkerCrashed);
  const int server = pool.apply(my_parent, 0);
  EXPECT_NE(server, self);
  EXPECT_NE(server, zygote);
  EXPECT_EQ(pool.apply(square, 7), 49);
}

}  // namespace
