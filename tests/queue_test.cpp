// tests/queue_test.cpp — Queue, JoinableQueue and SimpleQueue across processes, and the deaths
// of producers and consumers.
#include <csignal>

#include <chrono>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/sharedctypes.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class QueueTest : public mp::testing::LeakCheckedTest {};

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

void join_ok(mp::Process& p) {
  ASSERT_TRUE(p.join(60s)) << "child hung";
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(QueueTest, ProducerAndConsumerProcesses) {
  mp::Queue<std::string> q;
  mp::Process producer([q]() mutable { q.put("Hello from producer"); });
  mp::Process consumer([q]() mutable { std::exit(q.get(10s) == "Hello from producer" ? 0 : 1); });
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
  for (int i = 0; i < 100; ++i) ASSERT_EQ(q.get(), i);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.try_get());
  EXPECT_THROW(q.get_nowait(), mp::Empty);
}

TEST_F(QueueTest, TimeoutsAreBounded) {
  mp::Queue<int> q(2);
  auto t0 = Clock::now();
  EXPECT_THROW(q.get(100ms), mp::Empty);
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 99ms);
  EXPECT_LE(took, 150ms);
  q.put(1);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(3), mp::Full);
  t0 = Clock::now();
  EXPECT_THROW(q.put(3, 100ms), mp::Full);
  took = Clock::now() - t0;
  EXPECT_GE(took, 99ms);
  EXPECT_LE(took, 150ms);
  EXPECT_FALSE(q.try_put(3));
  EXPECT_EQ(q.get(), 1);
  EXPECT_TRUE(q.try_put(3));
}

TEST_F(QueueTest, BoundedPutWaitsForAConsumer) {
  mp::Queue<int> q(1);
  mp::Process consumer([q]() mutable {
    for (int i = 0; i < 100; ++i) {
      if (q.get(10s) != i) std::exit(1);
    }
  });
  consumer.start();
  for (int i = 0; i < 100; ++i) q.put(i, 10s);
  join_ok(consumer);
}

TEST_F(QueueTest, FourProducersTwoConsumersEveryItemOnce) {
  constexpr int kProducers = 4, kPerProducer = 25'000, kTotal = kProducers * kPerProducer;
  mp::Queue<int> q;
  mp::RawArray<int> seen(kTotal);
  std::vector<mp::Process> ps;
  for (int p = 0; p < kProducers; ++p) {
    ps.emplace_back([q, p]() mutable {
      for (int i = 0; i < kPerProducer; ++i) q.put(p * kPerProducer + i);
    });
  }
  for (int c = 0; c < 2; ++c) {
    ps.emplace_back([q, seen]() mutable {
      // Consumers stop at a sentinel (-1), one per consumer.
      for (;;) {
        int v = q.get(30s);
        if (v < 0) return;
        std::atomic_ref<int>(seen[static_cast<std::size_t>(v)]).fetch_add(1);
      }
    });
  }
  for (auto& p : ps) p.start();
  for (int p = 0; p < kProducers; ++p) join_ok(ps[static_cast<std::size_t>(p)]);
  q.put(-1);
  q.put(-1);
  for (int c = 0; c < 2; ++c) join_ok(ps[static_cast<std::size_t>(kProducers + c)]);
  int once = 0;
  for (int v : seen) once += (v == 1);
  EXPECT_EQ(once, kTotal);
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueTest, SixtyFourMebibyteMessagesRoundTrip) {
  mp::Queue<std::vector<std::uint8_t>> q;
  std::vector<std::uint8_t> big(64 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31 + 7);
  mp::Process echo([q]() mutable {
    for (int i = 0; i < 2; ++i) {
      auto m = q.get(30s);
      q.put(m);
      std::this_thread::sleep_for(50ms);  // let the parent take it back first
    }
  });
  echo.start();
  q.put(big);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(q.get(30s) == big);
  q.put(std::vector<std::uint8_t>{1, 2, 3});  // small after large keeps order and content
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(q.get(30s), (std::vector<std::uint8_t>{1, 2, 3}));
  join_ok(echo);
}

TEST_F(QueueTest, ManyMessagesLargerThanTheRing) {
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 64 << 10});
  mp::Process producer([q]() mutable {
    for (int i = 0; i < 50; ++i) q.put(std::string(100'000 + i, static_cast<char>('a' + i % 26)));
  });
  producer.start();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(q.get(30s), std::string(100'000 + i, static_cast<char>('a' + i % 26)));
  }
  join_ok(producer);
}

TEST_F(QueueTest, ReusedBodiesCarryEachMessageIntact) {
  // In lock step, so that every body is free again when the next large message is written:
  // the producer reuses its bodies and the consumer its mappings of them, through sizes that
  // shrink and grow.
  const std::vector<std::size_t> sizes{200'000, 50'000, 300'000, 300'000, 20'000, 1'000'000};
  auto message = [](std::size_t i, std::size_t size) {
    std::string m(size, static_cast<char>('a' + i));
    m[size / 2] = '!';
    return m;
  };
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 64 << 10});
  mp::Queue<int> ack;
  mp::Process producer([q, ack, sizes, message]() mutable {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      q.put(message(i, sizes[i]));
      ack.get(30s);
    }
  });
  producer.start();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(q.get(30s), message(i, sizes[i])) << "message " << i;
    ack.put(1);
  }
  join_ok(producer);
}

TEST_F(QueueTest, ManyLapsOfOddSizedMessagesArriveIntact) {
  // Every length modulo the record alignment, wrapping the ring many times: padding records and
  // record boundaries must agree at both ends.
  constexpr int kMessages = 50'000;
  auto message = [](int i) {
    return std::to_string(i) + std::string(static_cast<std::size_t>(i % 997), '.');
  };
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 1 << 14});
  mp::Process producer([q, message]() mutable {
    for (int i = 0; i < kMessages; ++i) q.put(message(i));
  });
  producer.start();
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(q.get(30s), message(i));
  join_ok(producer);
}

TEST_F(QueueTest, ProducerKilledMidStreamLeavesTheQueueWorking) {
  mp::Queue<std::string> q(0, mp::QueueOptions{.capacity = 1 << 16});
  mp::Process victim([q]() mutable {
    for (int i = 0;; ++i)
      q.put("victim-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 5000), '.'));
  });
  victim.start();
  std::this_thread::sleep_for(30ms);  // it fills the ring and blocks, or is mid-put
  victim.kill();
  victim.join();
  mp::Process survivor([q]() mutable {
    for (int i = 0; i < 1000; ++i) q.put("survivor-" + std::to_string(i));
  });
  survivor.start();
  int victims = 0, survivors = 0;
  for (;;) {
    auto s = q.try_get(2s);
    if (!s) break;
    if (s->rfind("victim-", 0) == 0) {
      ++victims;
    } else {
      ASSERT_EQ(*s, "survivor-" + std::to_string(survivors));
      ++survivors;
    }
  }
  join_ok(survivor);
  EXPECT_GT(victims, 0);
  EXPECT_EQ(survivors, 1000);
}

TEST_F(QueueTest, ConsumerKilledMidMessageLeavesItForTheNext) {
  mp::Queue<std::string> q;
  constexpr int kMessages = 4;
  for (int i = 0; i < kMessages; ++i) q.put(std::string(24 << 20, static_cast<char>('A' + i)));
  mp::RawValue<int> taken(0);
  mp::Process reader([q, taken]() mutable {
    for (;;) {
      auto s = q.get(30s);
      taken.fetch_add(1);
    }
  });
  reader.start();
  std::this_thread::sleep_for(20ms);  // somewhere inside a get of a 24 MiB message
  reader.kill();
  reader.join();
  std::vector<char> rest;
  while (auto s = q.try_get(1s)) {
    ASSERT_EQ(s->size(), 24u << 20);
    ASSERT_EQ(s->find_first_not_of(s->front()), std::string::npos) << "a corrupted message";
    rest.push_back(s->front());
  }
  // In order, none twice; the dead reader may have finished some before it died (between its
  // get and its count a message can be taken without being counted: at most one).
  for (std::size_t i = 1; i < rest.size(); ++i) EXPECT_LT(rest[i - 1], rest[i]);
  const int got = static_cast<int>(rest.size()) + taken.load();
  EXPECT_GE(got, kMessages - 1);
  EXPECT_LE(got, kMessages);
}

TEST_F(QueueTest, ExitingProducerDoesNotHang) {
  mp::Queue<int> q;
  mp::Process p([q]() mutable {
    for (int i = 0; i < 1000; ++i) q.put(i);
  });
  p.start();
  ASSERT_TRUE(p.join(10s));  // nobody has read: Python's feeder thread would hang here
  EXPECT_EQ(q.qsize(), 1000u);
}

TEST_F(QueueTest, JoinableQueueTaskDone) {
  mp::JoinableQueue<int> q;
  EXPECT_THROW(q.task_done(), mp::ValueError);
  for (int i = 0; i < 10; ++i) q.put(i);
  EXPECT_FALSE(q.join(50ms));
  mp::Process worker([q]() mutable {
    for (int i = 0; i < 10; ++i) {
      q.get(10s);
      q.task_done();
    }
  });
  worker.start();
  EXPECT_TRUE(q.join(10s));
  q.join();
  join_ok(worker);
  EXPECT_THROW(q.task_done(), mp::ValueError);
}

TEST_F(QueueTest, JoinableQueueJoinsAfterAProducerIsKilledMidStream) {
  // Only published items count as unfinished: whatever the producer was doing when killed,
  // join() returns once every item that arrived is done.
  for (int round = 0; round < 5; ++round) {
    mp::JoinableQueue<int> q(8);
    mp::Process victim([q]() mutable {
      for (int i = 0;; ++i) q.put(i);  // blocks in put() whenever the queue is full
    });
    victim.start();
    ASSERT_TRUE(q.try_get(30s)) << "the producer never started";
    q.task_done();
    const auto until = Clock::now() + std::chrono::milliseconds(10 + 5 * round);
    while (Clock::now() < until) {
      if (q.try_get(10ms)) q.task_done();
    }
    victim.kill();
    victim.join();
    while (q.try_get(100ms)) q.task_done();
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
  EXPECT_THROW(q.get(), mp::ProtocolError);
  EXPECT_EQ(q.get().v, 5);
}

}  // namespace
