// tests/sharedctypes_test.cpp — Value, RawValue, Array, RawArray across processes.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mp/process.hpp"
#include "mp/sharedctypes.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"

namespace {

using namespace std::chrono_literals;

class SharedCtypesTest : public mp::testing::LeakCheckedTest {};

// Tests between processes, under every start method: children get the objects as arguments.
class SharedCtypesMethodTest : public mp::testing::MethodTest {};
MP_INSTANTIATE_FOR_EVERY_METHOD(SharedCtypesMethodTest);

struct Pair {
  int a;
  double b;
};

static_assert(mp::Shareable<Pair>);
static_assert(!mp::Shareable<std::string>);
static_assert(!mp::Shareable<std::vector<int>>);

constexpr int kIncrements = 100'000;

void join_all(std::vector<mp::Process>& ps) {
  for (auto& p : ps) {
    ASSERT_TRUE(p.join(60s));
    EXPECT_EQ(p.exitcode(), 0);
  }
}

TEST_P(SharedCtypesMethodTest, ChildIncrementIsSeenByParent) {
  mp::Value<int> num(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 2; ++i) {
    ps.push_back(ctx().Process(
        [](mp::Value<int> v) {
          std::lock_guard g(v.get_lock());
          v.value() += 1;
        },
        num));
  }
  for (auto& p : ps) p.start();
  join_all(ps);
  EXPECT_EQ(num.value(), 2);
}

TEST_P(SharedCtypesMethodTest, LockedIncrementsFromTwoProcessesAreExact) {
  mp::Value<long> total(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 2; ++i) {
    ps.push_back(ctx().Process(
        [](mp::Value<long> total) {
          for (int k = 0; k < kIncrements; ++k) {
            std::lock_guard g(total.get_lock());
            total.value() += 1;
          }
        },
        total));
  }
  for (auto& p : ps) p.start();
  join_all(ps);
  EXPECT_EQ(total.value(), 2L * kIncrements);
}

TEST_P(SharedCtypesMethodTest, FetchAddFromTwoProcessesIsExact) {
  mp::RawValue<std::int64_t> total(0);
  mp::Value<double> sum(0.0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 2; ++i) {
    ps.push_back(ctx().Process(
        [](mp::RawValue<std::int64_t> total, mp::Value<double> sum) {
          for (int k = 0; k < kIncrements; ++k) {
            total.fetch_add(1);
            if (k % 100 == 0) sum.fetch_add(0.5);
          }
        },
        total, sum));
  }
  for (auto& p : ps) p.start();
  join_all(ps);
  EXPECT_EQ(total.load(), 2 * kIncrements);
  EXPECT_DOUBLE_EQ(sum.load(), 2 * (kIncrements / 100) * 0.5);
  std::int64_t expected = 2 * kIncrements;
  EXPECT_TRUE(total.compare_exchange(expected, 7));
  EXPECT_EQ(total.value(), 7);
  EXPECT_EQ(total.fetch_sub(2), 7);
}

TEST_P(SharedCtypesMethodTest, StructValue) {
  mp::Value<Pair> v(Pair{1, 2.0});
  auto p = ctx().Process([](mp::Value<Pair> v) { v.value() = Pair{3, 4.5}; }, v);
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(v.value().a, 3);
  EXPECT_EQ(v.value().b, 4.5);
}

TEST_P(SharedCtypesMethodTest, ArrayIsUpdatedInPlace) {
  mp::Array<int> arr{1, 2, 3, 4, 5};
  EXPECT_EQ(arr.size(), 5u);
  auto p = ctx().Process(
      [](mp::Array<int> arr) {
        for (auto& x : arr) x += 1;
      },
      arr);
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(std::vector<int>(arr.begin(), arr.end()), (std::vector<int>{2, 3, 4, 5, 6}));
  std::span<int> s = arr.span();
  EXPECT_EQ(s[4], 6);
  EXPECT_THROW(arr.at(5), std::out_of_range);
}

TEST_F(SharedCtypesTest, ArraysFromSizeAndRange) {
  mp::Array<double> zeros(1000);
  EXPECT_EQ(zeros.size(), 1000u);
  for (double d : zeros) ASSERT_EQ(d, 0.0);
  std::vector<long> src{5, 6, 7};
  mp::RawArray<long> raw(src);
  EXPECT_EQ(raw[2], 7);
  mp::Array<long> locked(src);
  std::lock_guard g(locked.get_lock());
  EXPECT_EQ(locked.at(0), 5);
}

TEST_P(SharedCtypesMethodTest, ArrayLockSerializesWholeArrayUpdates) {
  mp::Array<int> arr(8);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 2; ++i) {
    ps.push_back(ctx().Process(
        [](mp::Array<int> arr) {
          for (int k = 0; k < 10000; ++k) {
            std::lock_guard g(arr.get_lock());
            for (auto& x : arr) x += 1;
          }
        },
        arr));
  }
  for (auto& p : ps) p.start();
  join_all(ps);
  for (int x : arr) EXPECT_EQ(x, 20000);
}

TEST_P(SharedCtypesMethodTest, ValuesAndArraysGivenOneLockShareIt) {
  // Python's Value('i', 0, lock=lock), Array('i', 3, lock=lock).
  mp::RLock lock;
  mp::Value<int> a(0, lock);
  mp::Array<int> b(3, lock);
  mp::Array<int> c({1, 2}, lock);
  ASSERT_TRUE(lock.acquire());  // held here: no other process gets it through a, b or c
  auto blocked = ctx().Process(
      [](mp::Value<int> a, mp::Array<int> b, mp::Array<int> c) {
        const bool got =
            a.get_lock().acquire(50ms) || b.get_lock().acquire(50ms) || c.get_lock().acquire(50ms);
        std::exit(got ? 3 : 0);
      },
      a, b, c);
  blocked.start();
  ASSERT_TRUE(blocked.join(30s));
  EXPECT_EQ(blocked.exitcode(), 0) << "a lock given to share was not the one taken";
  lock.release();

  auto counter = ctx().Process(
      [](mp::Value<int> a, mp::Array<int> b) {
        for (int i = 0; i < 1000; ++i) {
          std::lock_guard guard(a.get_lock());
          a.value() += 1;
          b[0] += 1;
        }
      },
      a, b);
  counter.start();
  for (int i = 0; i < 1000; ++i) {
    std::lock_guard guard(b.get_lock());
    a.value() += 1;
    b[0] += 1;
  }
  ASSERT_TRUE(counter.join(30s));
  EXPECT_EQ(counter.exitcode(), 0);
  EXPECT_EQ(a.value(), 2000);
  EXPECT_EQ(b[0], 2000);
  EXPECT_EQ(c[1], 2);
}

TEST_F(SharedCtypesTest, CopiesShareOneObject) {
  mp::Value<int> a(1);
  mp::Value<int> b = a;
  b.value() = 9;
  EXPECT_EQ(a.value(), 9);
  std::lock_guard g(a.get_lock());
  EXPECT_TRUE(b.get_lock().is_owned());
}

TEST_F(SharedCtypesTest, StorageSurvivesTheCreatorsHandles) {
  mp::Value<int>* v = new mp::Value<int>(5);
  mp::Value<int> keep = *v;
  delete v;
  EXPECT_EQ(keep.value(), 5);
}

// Value and Array live in anonymous memfds, never in /dev/shm: what could leak is a descriptor or
// a mapping in this process, so count both.
TEST_P(SharedCtypesMethodTest, LastHandleFreesItsMemfdAndMapping) {
  const std::size_t fds = mp::testing::memfd_fds(), maps = mp::testing::memfd_mappings();
  {
    mp::Array<char> big(1 << 20);
    mp::RawValue<int> small(1);
    EXPECT_GE(mp::testing::memfd_fds(), fds + 2);
    EXPECT_GE(mp::testing::memfd_mappings(), maps + 2);
    mp::Array<char> copy = big;  // a copy shares them: nothing more
    auto p = ctx().Process(
        [](mp::Array<char> copy, mp::RawValue<int> small) {
          std::exit(copy.size() == (1 << 20) && small.load() == 1 ? 0 : 1);
        },
        copy, small);
    p.start();
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 0);
  }
  EXPECT_EQ(mp::testing::memfd_fds(), fds);
  EXPECT_EQ(mp::testing::memfd_mappings(), maps);
}

// A child killed while holding objects of its own: they were real (the child's memfds show in
// its /proc/<pid>/maps while it lives), and nothing of them reaches this process, whose memfds
// and mappings are as before (the fixture checks descriptors and /dev/shm as well).
TEST_P(SharedCtypesMethodTest, KilledChildLeavesNothingBehind) {
  // The child stores how many memfd mappings it had before making its own (a spawned child
  // does not start with this process's mappings), plus one, so that 0 means "not yet".
  mp::Value<int> ready(0);
  const std::size_t fds = mp::testing::memfd_fds(), maps = mp::testing::memfd_mappings();
  auto p = ctx().Process(
      [](mp::Value<int> ready) {
        const auto before = static_cast<int>(mp::testing::memfd_mappings());
        mp::Array<char> mine(1 << 20);  // created in the child, never freed: it is killed
        mp::Value<int> more(1);
        ready.store(before + 1);
        for (;;) std::this_thread::sleep_for(10ms);
      },
      ready);
  p.start();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ready.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_NE(ready.load(), 0);
  const auto child_before = static_cast<std::size_t>(ready.load() - 1);
  std::ifstream child_maps("/proc/" + std::to_string(p.pid()) + "/maps");
  std::size_t child_memfds = 0;
  for (std::string line; std::getline(child_maps, line);) {
    if (line.find(" /memfd:") != std::string::npos) ++child_memfds;
  }
  EXPECT_GE(child_memfds, child_before + 2)
      << "the child's own objects are not where the test looks";
  p.kill();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  EXPECT_EQ(mp::testing::memfd_fds(), fds);
  EXPECT_EQ(mp::testing::memfd_mappings(), maps);
}

}  // namespace
