// tests/queue_test.cpp — Queue, JoinableQueue and SimpleQueue across processes, and the deaths
// of producers and consumers. Every test with a child runs under each start method.
#include <sys/syscall.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
#include "support/children.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"
#include "support/peak_memory.hpp"

namespace {

using mp::testing::join_ok;
using mp::testing::peak_rise;
using mp::testing::reset_peak_resident;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Tests without a child process.
class QueueTest : public mp::testing::LeakCheckedTest {};

// Tests whose children receive the queues (and whatever else they share) as arguments, under
// every start method.
class QueueProcessTest : public mp::testing::MethodTest {};
MP_INSTANTIATE_FOR_EVERY_METHOD(QueueProcessTest);

struct Picky {  // refuses negative values when decoded
  int v = 0;
  std::string note;  // not trivially copyable: goes through save/load, not memcpy
  template <class A>
  void save(A& ar) const {
    ar(v, note);
  }
  template <class A>
  void load(A& ar) {
    ar(v, note);
    if (v < 0) throw mp::ProtocolError("negative");
  }
};

// Joins a child that is expected to end by SIGKILL (killed, or killing itself at a test hook).
void join_killed(mp::Process& p) {
  if (!p.join(60s)) {
    p.kill();
    p.join(30s);
    FAIL() << "child hung";
  }
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

// Whether /proc/<pid>/stat says the process sleeps (state S), not runs or waits for a CPU.
bool sleeping(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
}

// Whether `pid` sleeps in a futex wait (in the queue's wait for data, for a child that does
// nothing else), looked up in /proc/<pid>/syscall until `timeout` passes.
bool wait_until_in_futex_wait(int pid, std::chrono::seconds timeout) {
  const auto until = Clock::now() + timeout;
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  while (Clock::now() < until) {
    std::ifstream in(path);
    long number = -1;
    if (in >> number && number == SYS_futex && sleeping(pid)) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Makes the calling (child) process SIGKILL itself at the queue's large-message test hook. The
// child sets it itself: a spawned child does not see the parent's globals.
void die_at_large_get_hook() {
  mp::detail::large_get_hook = []() noexcept { std::raise(SIGKILL); };
}

// Messages that the parent and a child both build, from their index alone.
std::string lettered(std::size_t i, std::size_t size) {
  std::string m(size, static_cast<char>('a' + i));
  m[size / 2] = '!';
  return m;
}
std::string odd_sized(int i) {
  return std::to_string(i) + std::string(static_cast<std::size_t>(i % 997), '.');
}
std::string around_a_kilobyte(int i) {  // 0 to 3 KB, every length modulo 64
  return std::to_string(i) + std::string(static_cast<std::size_t>(i * 37 % 3000), '-');
}
std::string victim_message(int i) {
  return "victim-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 5000), '.');
}
std::string twenty_k(int i) {
  return std::to_string(i) + std::string(20'000, static_cast<char>('a' + i % 26));
}

TEST_P(QueueProcessTest, ProducerAndConsumerProcesses) {
  mp::Queue<std::string> q;
  auto producer = ctx().Process([](mp::Queue<std::string> q) { q.put("Hello from producer"); }, q);
  auto consumer = ctx().Process(
      [](mp::Queue<std::string> q) { std::exit(q.get(10s) == "Hello from producer" ? 0 : 1); }, q);
  producer.start();
  consumer.start();
  join_ok(producer);
  join_ok(consumer);
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueTest, FifoAndCounts) {
  mp::Queue<int> q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 100; ++i) q.put(i);
  EXPECT_EQ(q.qsize(), 100u);
  EXPECT_FALSE(q.full());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(q.get(10s), i);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.try_get());
  EXPECT_THROW(q.get_nowait(), mp::Empty);
}

TEST_F(QueueTest, TimeoutsAreBounded) {
  mp::Queue<int> q(2);
  auto t0 = Clock::now();
  EXPECT_THROW(q.get(100ms), mp::Empty);
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 100ms);
  EXPECT_LE(took, 5s);
  q.put(1);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(3), mp::Full);
  t0 = Clock::now();
  EXPECT_THROW(q.put(3, 100ms), mp::Full);
  took = Clock::now() - t0;
  EXPECT_GE(took, 100ms);
  EXPECT_LE(took, 5s);
  EXPECT_FALSE(q.try_put(3));
  EXPECT_EQ(q.get(10s), 1);
  EXPECT_TRUE(q.try_put(3));
}

TEST_P(QueueProcessTest, BoundedPutWaitsForAConsumer) {
  mp::Queue<int> q(1);
  auto consumer = ctx().Process(
      [](mp::Queue<int> q) {
        for (int i = 0; i < 100; ++i) {
          if (q.get(10s) != i) std::exit(1);
        }
      },
      q);
  consumer.start();
  for (int i = 0; i < 100; ++i) q.put(i, 10s);
  join_ok(consumer);
}

TEST_P(QueueProcessTest, FourProducersTwoConsumersEveryItemOnce) {
  constexpr int kProducers = 4, kPerProducer = 25'000, kTotal = kProducers * kPerProducer;
  mp::Queue<int> q;
  mp::RawArray<int> seen(kTotal);
  std::vector<mp::Process> ps;
  for (int p = 0; p < kProducers; ++p) {
    ps.push_back(ctx().Process(
        [](mp::Queue<int> q, int first, int n) {
          for (int i = 0; i < n; ++i) q.put(first + i);
        },
        q, p * kPerProducer, kPerProducer));
  }
  for (int c = 0; c < 2; ++c) {
    ps.push_back(ctx().Process(
        [](mp::Queue<int> q, mp::RawArray<int> seen) {
          // Consumers stop at a sentinel (-1), one per consumer.
          for (;;) {
            int v = q.get(30s);
            if (v < 0) return;
            std::atomic_ref<int>(seen[static_cast<std::size_t>(v)]).fetch_add(1);
          }
        },
        q, seen));
  }
  for (auto& p : ps) p.start();
  for (int p = 0; p < kProducers; ++p) join_ok(ps[static_cast<std::size_t>(p)]);
  q.put(-1, 10s);
  q.put(-1, 10s);
  for (int c = 0; c < 2; ++c) join_ok(ps[static_cast<std::size_t>(kProducers + c)]);
  int once = 0;
  for (int v : seen) once += (v == 1);
  EXPECT_EQ(once, kTotal);
  EXPECT_TRUE(q.empty());
}

TEST_P(QueueProcessTest, SixtyFourMebibyteMessagesRoundTrip) {
  // One queue each way, so that nobody can take back its own message.
  using Bytes = std::vector<std::uint8_t>;
  mp::Queue<Bytes> there, back;
  Bytes big(64 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31 + 7);
  auto echo = ctx().Process(
      [](mp::Queue<Bytes> there, mp::Queue<Bytes> back) {
        for (int i = 0; i < 2; ++i) back.put(there.get(30s), 30s);
      },
      there, back);
  echo.start();
  there.put(big, 30s);
  there.put(Bytes{1, 2, 3}, 30s);  // small after large: order and content kept both ways
  EXPECT_TRUE(back.get(30s) == big);
  EXPECT_EQ(back.get(30s), (Bytes{1, 2, 3}));
  join_ok(echo);
  EXPECT_TRUE(there.empty());
  EXPECT_TRUE(back.empty());
}

constexpr std::size_t kPeakDoubles = std::size_t{8} << 20;  // a 64 MiB message

TEST_P(QueueProcessTest, LargeMessageCostsEachSideAboutItsSizeInPeakMemory) {
  if (!mp::testing::kPeaksMeanSomething) GTEST_SKIP() << "shadow memory (ThreadSanitizer)";
  // A large message is encoded straight into its body and decoded from it as the body's pages
  // are given back: the sender's peak resident set rises by about the message (its body) above
  // what it held with the value built, and the receiver's by about the message (the decoded
  // value), not twice that. Shared pages count in both.
  mp::Queue<std::vector<double>> q;
  mp::Queue<double> rises;
  auto receiver = ctx().Process(
      [](mp::Queue<std::vector<double>> q, mp::Queue<double> rises) {
        const double base = reset_peak_resident();
        const std::vector<double> v = q.get(60s);
        const double rise = peak_rise(base);
        const bool intact =
            v.size() == kPeakDoubles && v[12345] == 12345.0 && v.back() == kPeakDoubles - 1.0;
        rises.put(base < 0 ? -1.0 : intact ? rise : -2.0, 30s);
      },
      q, rises);
  auto sender = ctx().Process(
      [](mp::Queue<std::vector<double>> q, mp::Queue<double> rises) {
        std::vector<double> v(kPeakDoubles);
        std::iota(v.begin(), v.end(), 0.0);
        const double base = reset_peak_resident();
        q.put(v, 60s);
        rises.put(base < 0 ? -1.0 : peak_rise(base), 30s);
      },
      q, rises);
  receiver.start();
  sender.start();
  join_ok(sender);
  join_ok(receiver);
  const double a = rises.get(10s), b = rises.get(10s);
  if (a == -1.0 || b == -1.0) GTEST_SKIP() << "this kernel cannot reset a process's peak";
  ASSERT_NE(a, -2.0) << "the message arrived damaged";
  ASSERT_NE(b, -2.0) << "the message arrived damaged";
  constexpr double kMessage = kPeakDoubles * sizeof(double);
  constexpr double kSlack = 16 << 20;  // libraries, stacks, the ring, a sanitizer's shadow
  EXPECT_LE(a, 1.25 * kMessage + kSlack) << "rose by " << a / kMessage << " times the message";
  EXPECT_LE(b, 1.25 * kMessage + kSlack) << "rose by " << b / kMessage << " times the message";
}

TEST_P(QueueProcessTest, ManyMessagesLargerThanTheRing) {
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 64 << 10});
  auto producer = ctx().Process(
      [](mp::Queue<std::string> q) {
        for (int i = 0; i < 50; ++i) {
          q.put(std::string(100'000 + i, static_cast<char>('a' + i % 26)));
        }
      },
      q);
  producer.start();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(q.get(30s), std::string(100'000 + i, static_cast<char>('a' + i % 26)));
  }
  join_ok(producer);
}

TEST_P(QueueProcessTest, ReusedBodiesCarryEachMessageIntact) {
  // In lock step, so that every body is free again when the next large message is written:
  // the producer reuses its bodies and the consumer its mappings of them, through sizes that
  // shrink and grow.
  const std::vector<std::size_t> sizes{200'000, 50'000, 300'000, 300'000, 20'000, 1'000'000};
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 64 << 10});
  mp::Queue<int> ack;
  auto producer = ctx().Process(
      [](mp::Queue<std::string> q, mp::Queue<int> ack, std::vector<std::size_t> sizes) {
        for (std::size_t i = 0; i < sizes.size(); ++i) {
          q.put(lettered(i, sizes[i]));
          ack.get(30s);
        }
      },
      q, ack, sizes);
  producer.start();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(q.get(30s), lettered(i, sizes[i])) << "message " << i;
    ack.put(1);
  }
  join_ok(producer);
}

TEST_P(QueueProcessTest, ManyLapsOfOddSizedMessagesArriveIntact) {
  // Every length modulo the record alignment, wrapping the ring many times: padding records and
  // record boundaries must agree at both ends.
  constexpr int kMessages = 50'000;
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 1 << 14});
  auto producer = ctx().Process(
      [](mp::Queue<std::string> q, int n) {
        for (int i = 0; i < n; ++i) q.put(odd_sized(i));
      },
      q, kMessages);
  producer.start();
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(q.get(30s), odd_sized(i));
  join_ok(producer);
}

TEST_P(QueueProcessTest, ManyLapsOfMessagesAroundTheAlignedSizeArriveIntact) {
  // From a kilobyte on, a string's characters start a cache line in the ring, behind a padding
  // record of 4 to 60 bytes: mixed with smaller messages, every offset, wrapping many times.
  constexpr int kMessages = 20'000;
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 1 << 14});
  auto producer = ctx().Process(
      [](mp::Queue<std::string> q, int n) {
        for (int i = 0; i < n; ++i) q.put(around_a_kilobyte(i));
      },
      q, kMessages);
  producer.start();
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(q.get(30s), around_a_kilobyte(i));
  join_ok(producer);
}

TEST_P(QueueProcessTest, ProducerKilledMidStreamLeavesTheQueueWorking) {
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 1 << 16});
  mp::Queue<int> progress;
  auto victim = ctx().Process(
      [](mp::Queue<std::string> q, mp::Queue<int> progress) {
        for (int i = 0;; ++i) {
          q.put(victim_message(i));
          if (i == 100) progress.put(i);  // it has produced; it goes on until the ring is full
        }
      },
      q, progress);
  victim.start();
  ASSERT_EQ(progress.get(30s), 100) << "the victim never produced";
  victim.kill();  // it fills the ring and blocks, or is mid-put
  join_killed(victim);
  auto survivor = ctx().Process(
      [](mp::Queue<std::string> q) {
        for (int i = 0; i < 1000; ++i) q.put("survivor-" + std::to_string(i), 30s);
      },
      q);
  survivor.start();
  // The victim's messages all come first (it died before the survivor started), in order.
  int victims = 0, survivors = 0;
  while (survivors < 1000) {
    auto s = q.get(30s);
    if (s.rfind("victim-", 0) == 0) {
      ASSERT_EQ(survivors, 0) << "a victim's message after a survivor's";
      ASSERT_EQ(s, victim_message(victims));
      ++victims;
    } else {
      ASSERT_EQ(s, "survivor-" + std::to_string(survivors));
      ++survivors;
    }
  }
  join_ok(survivor);
  EXPECT_GT(victims, 100);
  EXPECT_FALSE(q.try_get());
}

TEST_P(QueueProcessTest, ConsumerKilledWhileBlockedInGetLeavesTheQueueWorking) {
  // The reader dies holding the get lock, asleep in get on an empty queue.
  mp::Queue<std::string> q;
  mp::Event about_to_get;
  auto reader = ctx().Process(
      [](mp::Queue<std::string> q, mp::Event about_to_get) {
        about_to_get.set();
        q.get(60s);
        std::exit(3);  // nothing is ever put before it is killed
      },
      q, about_to_get);
  reader.start();
  ASSERT_TRUE(about_to_get.wait_for(30s));
  // After the Event, the only sleep the reader reaches is get's wait for data.
  EXPECT_TRUE(wait_until_in_futex_wait(reader.pid(), 30s)) << "the reader never slept in get";
  reader.kill();
  join_killed(reader);
  q.put("after", 10s);
  EXPECT_EQ(q.get(10s), "after");
  auto next = ctx().Process(
      [](mp::Queue<std::string> q) { std::exit(q.get(30s) == "for the next" ? 0 : 1); }, q);
  next.start();
  q.put("for the next", 10s);
  join_ok(next);
}

TEST_P(QueueProcessTest, ConsumerKilledMidMessageLeavesItForTheNext) {
  mp::Queue<std::string> q;
  constexpr int kMessages = 4;
  for (int i = 0; i < kMessages; ++i) q.put(std::string(24 << 20, static_cast<char>('A' + i)));
  mp::RawValue<char> taken(0);
  auto reader = ctx().Process(
      [](mp::Queue<std::string> q, mp::RawValue<char> taken) {
        taken.store(q.get(30s).front());
        // Dies inside its second get: the body read, the head not yet published.
        die_at_large_get_hook();
        q.get(30s);
        std::exit(3);
      },
      q, taken);
  reader.start();
  join_killed(reader);
  EXPECT_EQ(taken.load(), 'A');
  for (int i = 1; i < kMessages; ++i) {
    auto s = q.get(30s);
    ASSERT_EQ(s.size(), 24u << 20);
    ASSERT_EQ(s.front(), static_cast<char>('A' + i)) << "a message lost or twice";
    ASSERT_EQ(s.find_first_not_of(s.front()), std::string::npos) << "a corrupted message";
  }
  EXPECT_FALSE(q.try_get());
}

TEST_P(QueueProcessTest, LargeBodyIsNotReusedBeforeItsGetCompletes) {
  // A consumer killed after reading a large message's body but before publishing the head
  // leaves the message to the next consumer: its body must not have been handed back to the
  // producer (which would write the next large message into it) nor its descriptor taken.
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 64 << 10});
  q.put(lettered(0, 100'000), 10s);
  auto victim = ctx().Process(
      [](mp::Queue<std::string> q) {
        die_at_large_get_hook();
        q.get(30s);
        std::exit(3);
      },
      q);
  victim.start();
  join_killed(victim);
  q.put(lettered(1, 100'000), 10s);  // into a spare body, if one is marked free
  EXPECT_EQ(q.get(10s), lettered(0, 100'000));
  EXPECT_EQ(q.get(10s), lettered(1, 100'000));
  EXPECT_FALSE(q.try_get());
}

// A producer killed after counting its item and before publishing it: the item was never
// acknowledged and is dropped, and the count must not keep it, or join() waits for ever.
TEST_P(QueueProcessTest, AProducerKilledBeforePublishingLeavesJoinNothingToWaitFor) {
  mp::JoinableQueue<int> q;
  q.put(1, 10s);
  auto victim = ctx().Process(
      [](mp::JoinableQueue<int> q) {
        mp::detail::put_publish_hook = []() noexcept { std::raise(SIGKILL); };
        q.put(2, 30s);
        std::exit(3);
      },
      q);
  victim.start();
  join_killed(victim);
  EXPECT_EQ(q.get(10s), 1);
  q.task_done();
  // Nobody puts again: join() itself takes the dead producer's lock over.
  EXPECT_TRUE(q.join(10s)) << "join() waits for the dead producer's unpublished item";
  EXPECT_EQ(q.qsize(), 0u);
  q.put(3, 10s);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get(10s), 3);
  q.task_done();
  EXPECT_TRUE(q.join(10s));
  EXPECT_THROW(q.task_done(), mp::ValueError);
}

// A string is encoded straight into the ring under the put lock: a producer killed there (after
// encoding, before publishing) leaves no message, and the next put takes its lock over and
// writes over what it left.
TEST_P(QueueProcessTest, AProducerKilledInsideAnInPlacePutLeavesNoMessage) {
  mp::Queue<std::string> q;
  q.put("first", 10s);
  auto victim = ctx().Process(
      [](mp::Queue<std::string> q) {
        mp::detail::put_publish_hook = []() noexcept { std::raise(SIGKILL); };
        q.put(std::string(5000, 'v'), 30s);
        std::exit(3);
      },
      q);
  victim.start();
  join_killed(victim);
  q.put(std::string(3000, 'n'), 10s);
  EXPECT_EQ(q.get(10s), "first");
  EXPECT_EQ(q.get(10s), std::string(3000, 'n'));
  EXPECT_FALSE(q.try_get());
  EXPECT_EQ(q.qsize(), 0u);
}

// A consumer killed after counting its get and before publishing the head leaves the message
// to the next consumer, which must count it once, not twice.
TEST_P(QueueProcessTest, AConsumerKilledBeforePublishingIsNotCountedTwice) {
  mp::Queue<int> q;
  q.put(1, 10s);
  q.put(2, 10s);
  auto victim = ctx().Process(
      [](mp::Queue<int> q) {
        mp::detail::get_publish_hook = []() noexcept { std::raise(SIGKILL); };
        q.get(30s);
        std::exit(3);
      },
      q);
  victim.start();
  join_killed(victim);
  EXPECT_EQ(q.get(10s), 1) << "the dead consumer's message is the next one's";
  EXPECT_EQ(q.qsize(), 1u) << "the dead consumer's get was counted as well";
  EXPECT_EQ(q.get(10s), 2);
  EXPECT_EQ(q.qsize(), 0u);
}

TEST_P(QueueProcessTest, PutsHonourTheirTimeoutsWhenLargeMessagesFillTheQueue) {
  // Large messages travel as descriptors over a socket beside the ring. With no consumer that
  // socket fills (a few hundred messages) long before a 64 KiB ring of 24-byte records does;
  // a put must then fail in time, not block in the socket. Run in a child so that a put that
  // blocks shows up as a hung child, not a hung test.
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 64 << 10});
  mp::RawValue<int> count(0);
  mp::RawArray<long long> took_ms(2);
  auto producer = ctx().Process(
      [](mp::Queue<std::string> q, mp::RawValue<int> count, mp::RawArray<long long> took_ms) {
        using std::chrono::duration_cast, std::chrono::milliseconds;
        int n = 0;
        while (q.try_put(twenty_k(n))) {
          count.store(++n);
          if (n == 100'000) std::exit(2);  // never full
        }
        auto t0 = Clock::now();
        try {
          q.put_nowait(twenty_k(n));
          std::exit(3);
        } catch (const mp::Full&) {
        }
        took_ms[0] = duration_cast<milliseconds>(Clock::now() - t0).count();
        t0 = Clock::now();
        try {
          q.put(twenty_k(n), 200ms);
          std::exit(4);
        } catch (const mp::Full&) {
        }
        took_ms[1] = duration_cast<milliseconds>(Clock::now() - t0).count();
      },
      q, count, took_ms);
  producer.start();
  join_ok(producer);
  const int n = count.load();
  EXPECT_GT(n, 0);
  EXPECT_LT(took_ms[0], 5000) << "put_nowait";
  EXPECT_GE(took_ms[1], 200) << "put(200ms) returned early";
  EXPECT_LT(took_ms[1], 5000) << "put(200ms)";
  // Still usable: everything put arrives, intact and in order, and nothing else.
  for (int i = 0; i < n; ++i) ASSERT_EQ(q.get(30s), twenty_k(i)) << "message " << i;
  EXPECT_FALSE(q.try_get());
  q.put(twenty_k(n), 10s);
  EXPECT_EQ(q.get(10s), twenty_k(n));
}

TEST_F(QueueTest, MaxsizeBoundsLargeMessages) {
  mp::Queue<std::string> q(3, mp::QueueOptions{.capacity = 64 << 10});
  const std::string big(100'000, 'x');
  for (int i = 0; i < 3; ++i) q.put_nowait(big);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(big), mp::Full);
  const auto t0 = Clock::now();
  EXPECT_THROW(q.put(big, 100ms), mp::Full);
  EXPECT_GE(Clock::now() - t0, 100ms);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q.get(10s), big);
  EXPECT_FALSE(q.try_get());
}

TEST_F(QueueTest, MessagesAroundTheRingsLimitArriveIntact) {
  // Strings and vectors of numbers are encoded straight into the ring when they fit it, and go
  // beside it, in a body, when they do not: both sides of the limit, and the limit itself.
  mp::Queue<std::string> strings(0, mp::QueueOptions{.capacity = 64 << 10});
  mp::Queue<std::vector<double>> doubles(0, mp::QueueOptions{.capacity = 64 << 10});
  constexpr std::size_t kLargest = (64 << 10) / 4 - 4;  // the largest record payload, in bytes
  for (std::size_t n = kLargest - 8 - 12; n <= kLargest - 8 + 12; ++n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i + n) % 26);
    strings.put(s, 10s);
    strings.put("small", 10s);
    ASSERT_EQ(strings.get(10s), s) << n;
    ASSERT_EQ(strings.get(10s), "small");
  }
  for (std::size_t n = (kLargest - 8) / 8 - 2; n <= (kLargest - 8) / 8 + 2; ++n) {
    std::vector<double> v(n);
    std::iota(v.begin(), v.end(), static_cast<double>(n));
    doubles.put(v, 10s);
    ASSERT_EQ(doubles.get(10s), v) << n;
  }
  EXPECT_TRUE(strings.empty());
  EXPECT_TRUE(doubles.empty());
}

TEST_F(QueueTest, ARingOfTwoGibibytesWrapsEarlyIntact) {
  // Once the consumer keeps up, the producer wraps after the ring's first 64 KiB, padding the
  // rest: more than a record header's 30-bit length in a ring of 2 GiB (its memory is only
  // committed as it is written).
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = std::size_t{1} << 31});
  for (int i = 0; i < 2000; ++i) {
    const std::string message = std::to_string(i) + std::string(100, '.');
    q.put(message, 10s);
    ASSERT_EQ(q.get(10s), message) << i;
  }
}

TEST_F(QueueTest, EncodeBufferShrinksAfterALargeMessage) {
  // The per-thread encoding buffer does not keep 64 MiB after one 64 MiB put, whether the put
  // succeeded or found the queue full.
  constexpr std::size_t kKept = std::size_t{1} << 20;
  mp::Queue<std::vector<std::uint8_t>> q(1);
  q.put(std::vector<std::uint8_t>(64 << 20, 7), 10s);
  EXPECT_LE(mp::detail::encode_buffer().capacity(), kKept);
  EXPECT_THROW(q.put_nowait(std::vector<std::uint8_t>(64 << 20, 8)), mp::Full);
  EXPECT_LE(mp::detail::encode_buffer().capacity(), kKept);
  EXPECT_EQ(q.get(10s), std::vector<std::uint8_t>(64 << 20, 7));
  q.put(std::vector<std::uint8_t>(100, 9), 10s);  // small ones keep working
  EXPECT_EQ(q.get(10s), std::vector<std::uint8_t>(100, 9));
}

TEST_P(QueueProcessTest, ExitingProducerDoesNotHang) {
  mp::Queue<int> q;
  auto p = ctx().Process(
      [](mp::Queue<int> q) {
        for (int i = 0; i < 1000; ++i) q.put(i);
      },
      q);
  p.start();
  ASSERT_TRUE(p.join(10s));  // nobody has read: Python's feeder thread would hang here
  EXPECT_EQ(q.qsize(), 1000u);
}

TEST_P(QueueProcessTest, JoinableQueueTaskDone) {
  mp::JoinableQueue<int> q;
  EXPECT_THROW(q.task_done(), mp::ValueError);
  for (int i = 0; i < 10; ++i) q.put(i);
  EXPECT_FALSE(q.join(50ms));
  auto worker = ctx().Process(
      [](mp::JoinableQueue<int> q) {
        for (int i = 0; i < 10; ++i) {
          q.get(10s);
          q.task_done();
        }
      },
      q);
  worker.start();
  const bool joined = q.join(10s);
  EXPECT_TRUE(joined);
  if (joined) q.join();  // the untimed form, once it cannot block
  join_ok(worker);
  EXPECT_THROW(q.task_done(), mp::ValueError);
}

TEST_P(QueueProcessTest, JoinableQueueJoinsAfterAProducerIsKilledMidStream) {
  // Only published items count as unfinished: whatever the producer was doing when killed,
  // join() returns once every item that arrived is done.
  for (int round = 0; round < 5; ++round) {
    mp::JoinableQueue<int> q(8);
    auto victim = ctx().Process(
        [](mp::JoinableQueue<int> q) {
          for (int i = 0;; ++i) q.put(i);  // blocks in put() whenever the queue is full
        },
        q);
    victim.start();
    ASSERT_TRUE(q.try_get(30s)) << "the producer never started";
    q.task_done();
    const auto until = Clock::now() + std::chrono::milliseconds(10 + 5 * round);
    while (Clock::now() < until) {
      if (q.try_get(10ms)) q.task_done();
    }
    victim.kill();
    join_killed(victim);
    while (q.try_get()) q.task_done();  // the victim is dead: all it published is there
    EXPECT_TRUE(q.join(2s)) << "round " << round << ": join waits for an item never published";
    EXPECT_THROW(q.task_done(), mp::ValueError);
  }
}

TEST_F(QueueTest, SimpleQueueAndClose) {
  mp::SimpleQueue<std::pair<int, std::string>> sq;
  EXPECT_TRUE(sq.empty());
  sq.put({1, "one"});
  EXPECT_FALSE(sq.empty());
  EXPECT_EQ(sq.get(), (std::pair<int, std::string>{1, "one"}));
  sq.close();
  EXPECT_THROW(sq.put({2, "two"}), mp::ValueError);
  mp::Queue<int> q;
  q.close();
  EXPECT_THROW(q.put(1), mp::ValueError);
  EXPECT_THROW(q.get(), mp::ValueError);
}

TEST_F(QueueTest, WrongTypeOnDecodeIsConsumed) {
  // Two queue handles of different types cannot share a ring by construction; a decode failure
  // is simulated with a type whose load throws.
  mp::Queue<Picky> q;
  q.put(Picky{-1, {}});
  q.put(Picky{5, {}});
  EXPECT_THROW(q.get(10s), mp::ProtocolError);
  EXPECT_EQ(q.get(10s).v, 5);
}

}  // namespace
