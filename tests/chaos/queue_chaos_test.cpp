// tests/chaos/queue_chaos_test.cpp — producers and consumers of Queue (small messages, and large
// ones that travel beside the ring as memfds), JoinableQueue, SimpleQueue and Pipe, SIGKILLed
// inside put/get/send/recv. Afterwards: every message whose put returned is received exactly
// once, except at most the one a killed consumer had taken; nothing is corrupted or duplicated;
// survivors end within their timeout; JoinableQueue::join() returns.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "chaos/chaos.hpp"
#include "mp/connection.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "support/leak_check.hpp"

namespace mp::chaos {
namespace {

// (id, checksum, payload); the payload's bytes and size follow from the id, so a message that
// is cut, mixed with another or read from a reused buffer fails verify().
using Msg = std::tuple<std::uint64_t, std::uint64_t, std::string>;

std::uint64_t scramble(std::uint64_t x) {
  x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdull;
  return x ^ (x >> 29);
}

enum class Sizes { small, large, pipe };

std::size_t size_for(std::uint64_t id, Sizes sizes) {
  const std::uint64_t r = scramble(id + 1);
  switch (sizes) {
    case Sizes::small:
      return r % 200;
    case Sizes::large:  // every other message over a quarter of the 64 KiB ring: beside it
      return id % 2 == 0 ? 20000 + r % 20000 : r % 200;
    case Sizes::pipe:  // some larger than a socket's buffer: a send is cut in pieces
      return id % 4 == 0 ? 50000 + r % 250000 : r % 300;
  }
  return 0;
}

Msg make_msg(std::uint64_t id, Sizes sizes) {
  std::string payload = payload_for(id, size_for(id, sizes));
  const std::uint64_t sum = checksum(id, payload);
  return {id, sum, std::move(payload)};
}

// Empty when the message is intact, else what is wrong.
std::string verify(const Msg& m, Sizes sizes, std::uint64_t max_id) {
  const auto& [id, sum, payload] = m;
  if (id >= max_id) return "message id " + std::to_string(id) + " out of range";
  if (sum != checksum(id, payload)) return "checksum mismatch on message " + std::to_string(id);
  if (payload.size() != size_for(id, sizes) || payload != payload_for(id, payload.size())) {
    return "payload of message " + std::to_string(id) + " is not its own";
  }
  return "";
}

// MP_CHAOS_GET_TIMEOUT_MS fixes the consumers' poll timeout (default: random per iteration).
int env_timeout_ms() {
  static const int ms = [] {
    const char* v = std::getenv("MP_CHAOS_GET_TIMEOUT_MS");
    return v != nullptr ? std::atoi(v) : 0;
  }();
  return ms;
}

constexpr int kProducers = 2;
constexpr int kConsumers = 2;
constexpr std::uint64_t kMaxPerProducer = 8000;

struct QueueBoard {
  std::atomic<std::uint64_t> acked[kProducers];  // puts that returned
  std::atomic<std::uint64_t> taken[kConsumers];  // gets that returned and were recorded
  std::atomic<std::uint32_t> state[kConsumers];  // 0 idle, 1 in get, 2 got it, not yet done
  std::atomic<std::uint32_t> drain;              // producers are done: stop once empty
  std::atomic<std::uint32_t> stop_producing;     // the victim is dead: producers may end
  std::atomic<std::uint32_t> received[kProducers * kMaxPerProducer];
  std::atomic<std::uint32_t> corrupt;
  ChildErrors errors;
};

class QueueChaos : public mp::testing::LeakCheckedTest {};

template <class Q>
void run_queue_iteration(const std::string& op, Sizes sizes, int index) {
  Iteration it(op, index);
  Rng rng(op, index);
  const std::uint64_t per_producer = sizes == Sizes::large ? 150 : 1500;
  const std::uint64_t cap = std::min(kMaxPerProducer, 4 * per_producer);
  const std::uint64_t max_id = kProducers * kMaxPerProducer;
  Shared<QueueBoard> board;
  QueueBoard* b = board.get();

  std::unique_ptr<Q> qp;
  if constexpr (std::is_same_v<Q, mp::SimpleQueue<Msg>>) {
    qp = std::make_unique<Q>();
  } else {
    // A small ring: producers fill it and wait for room, consumers catch up and wait for data.
    qp = std::make_unique<Q>(0,
                             mp::QueueOptions{.capacity = sizes == Sizes::large ? 65536u : 16384u});
  }
  Q& q = *qp;

  // Consumers poll with a timeout of 1 to 500 ms, as programs do.
  static constexpr int kGetTimeouts[] = {1, 5, 20, 100, 500};
  const auto get_timeout = std::chrono::milliseconds(
      env_timeout_ms() > 0 ? env_timeout_ms() : kGetTimeouts[rng.below(std::size(kGetTimeouts))]);

  std::vector<mp::Process> producers, consumers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([b, q, p, per_producer, cap, sizes]() mutable {
      try {
        // At least per_producer messages, and on (up to `cap`) until the parent has killed its
        // victim, so that a victim producer cannot finish first.
        for (std::uint64_t s = 0; s < per_producer || (b->stop_producing.load() == 0 && s < cap);
             ++s) {
          const Msg m = make_msg(static_cast<std::uint64_t>(p) * kMaxPerProducer + s, sizes);
          if constexpr (std::is_same_v<Q, mp::SimpleQueue<Msg>>) {
            q.put(m);
          } else {
            // Room appears within milliseconds while a consumer lives; longer is a stall.
            q.put(m, sanitized() ? std::chrono::seconds(15) : std::chrono::seconds(5));
          }
          b->acked[p].store(s + 1);
        }
      } catch (const std::exception& e) {
        b->errors.report(std::string("producer: ") + e.what());
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([b, q, c, sizes, max_id, get_timeout]() mutable {
      try {
        for (;;) {
          b->state[c].store(1);
          std::optional<Msg> m;
          if constexpr (std::is_same_v<Q, mp::SimpleQueue<Msg>>) {
            m = q.get();
          } else {
            m = q.try_get(get_timeout);
          }
          if (!m) {
            b->state[c].store(0);
            if (b->drain.load() != 0) return;
            continue;
          }
          b->state[c].store(2);
          if (std::get<0>(*m) == UINT64_MAX) return;  // SimpleQueue's end mark
          if (std::string bad = verify(*m, sizes, max_id); !bad.empty()) {
            b->corrupt.fetch_add(1);
            b->errors.report("consumer: " + bad);
          } else {
            b->received[std::get<0>(*m)].fetch_add(1);
          }
          if constexpr (std::is_same_v<Q, mp::JoinableQueue<Msg>>) q.task_done();
          b->state[c].store(0);
          b->taken[c].fetch_add(1);
        }
      } catch (const std::exception& e) {
        b->errors.report(std::string("consumer: ") + e.what());
      }
    });
  }
  for (auto& c : consumers) c.start();
  for (auto& p : producers) p.start();

  // The victim and the moment.
  const int victim = static_cast<int>(rng.below(kProducers + kConsumers));
  const bool victim_is_producer = victim < kProducers;
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  const std::uint64_t total = per_producer * kProducers;  // at least
  bool landed = false;
  if (victim_is_producer) {
    const std::uint64_t target = rng.below(per_producer * 3 / 4);
    landed = kill_when(
        producers[victim], [&] { return b->acked[victim].load() >= target; }, delay, 20s);
  } else {
    const int c = victim - kProducers;
    const std::uint64_t target = rng.below(total / kConsumers / 2);
    landed = kill_when(
        consumers[c],
        [&] {
          return b->taken[c].load() >= target ||
                 b->acked[0].load() + b->acked[1].load() >= kProducers * cap;
        },
        delay, 20s);
  }
  mp::Process& vp = victim_is_producer ? producers[victim] : consumers[victim - kProducers];
  it.check(join_bounded(vp, 10s), "the victim did not end after SIGKILL");
  landed = landed && vp.exitcode() == -9;
  if (landed) it.killed();
  b->stop_producing.store(1);
  it.note(std::string(victim_is_producer ? "producer " : "consumer ") +
          std::to_string(victim_is_producer ? victim : victim - kProducers) +
          (landed ? " killed" : " not killed (it had ended)") + " after " + std::to_string(delay) +
          " us; acked " + std::to_string(b->acked[0].load()) + "/" +
          std::to_string(b->acked[1].load()) + " of " + std::to_string(per_producer) +
          ", consumers poll with try_get(" + std::to_string(get_timeout.count()) + " ms)" +
          ", taken " + std::to_string(b->taken[0].load()) + "/" +
          std::to_string(b->taken[1].load()) + ", consumer states " +
          std::to_string(b->state[0].load()) + "/" + std::to_string(b->state[1].load()));

  for (int p = 0; p < kProducers; ++p) {
    if (victim_is_producer && p == victim) continue;
    it.check(join_bounded(producers[p], child_timeout()), "a surviving producer hung");
    it.check(producers[p].exitcode() == 0, "a surviving producer failed");
    it.check(b->acked[p].load() >= per_producer, "a surviving producer did not put everything");
  }
  if constexpr (std::is_same_v<Q, mp::SimpleQueue<Msg>>) {
    // No timed get on a SimpleQueue: one end mark per live consumer, after every message.
    const int live = kConsumers - (!victim_is_producer && landed ? 1 : 0);
    for (int i = 0; i < live; ++i) q.put(Msg{UINT64_MAX, 0, ""});
  }
  b->drain.store(1);
  for (int c = 0; c < kConsumers; ++c) {
    if (!victim_is_producer && c == victim - kProducers) continue;
    it.check(join_bounded(consumers[c], child_timeout()), "a surviving consumer hung");
    it.check(consumers[c].exitcode() == 0, "a surviving consumer failed");
  }

  // What is left, the parent takes (bounded: a recovered get lock costs tens of ms).
  std::uint64_t drained = 0;
  if constexpr (!std::is_same_v<Q, mp::SimpleQueue<Msg>>) {
    const auto end = Clock::now() + 20s;
    while (Clock::now() < end) {
      std::optional<Msg> m;
      try {
        m = q.try_get(q.empty() ? std::chrono::milliseconds(0) : std::chrono::milliseconds(300));
      } catch (const std::exception& e) {
        it.check(false, std::string("parent's get threw: ") + e.what());
        break;
      }
      if (!m) break;
      ++drained;
      if (std::string bad = verify(*m, sizes, max_id); !bad.empty()) {
        b->corrupt.fetch_add(1);
        b->errors.report("parent: " + bad);
      } else {
        b->received[std::get<0>(*m)].fetch_add(1);
      }
      if constexpr (std::is_same_v<Q, mp::JoinableQueue<Msg>>) q.task_done();
    }
  }
  it.check(q.empty(), "the queue is not empty after everything was taken");

  it.check(b->corrupt.load() == 0, "corrupted messages: " + std::to_string(b->corrupt.load()));
  it.check(b->errors.count.load() == 0, b->errors.first());

  // Exactly once: every acknowledged put arrived once; the one in flight of a killed producer
  // at most once; nothing else.
  std::uint64_t missing = 0, duplicates = 0, phantom = 0, in_flight = 0;
  for (int p = 0; p < kProducers; ++p) {
    const std::uint64_t acked = b->acked[p].load();
    for (std::uint64_t s = 0; s < kMaxPerProducer; ++s) {
      const std::uint32_t n = b->received[static_cast<std::uint64_t>(p) * kMaxPerProducer + s];
      if (n > 1) ++duplicates;
      if (s < acked) {
        if (n == 0) ++missing;
      } else if (s == acked && victim_is_producer && p == victim) {
        in_flight += n;
      } else if (n != 0) {
        ++phantom;
      }
    }
  }
  const std::uint64_t allowed_missing = (!victim_is_producer && landed) ? 1 : 0;
  it.check(duplicates == 0, std::to_string(duplicates) + " message(s) received twice");
  it.check(missing <= allowed_missing, std::to_string(missing) +
                                           " acknowledged message(s) never received (allowed " +
                                           std::to_string(allowed_missing) + ")");
  it.check(phantom == 0, std::to_string(phantom) + " message(s) received that were never put");
  it.check(in_flight <= 1, "the killed producer's message in flight arrived more than once");

  if constexpr (std::is_same_v<Q, mp::JoinableQueue<Msg>>) {
    // A consumer killed after taking an item and before task_done leaves that item unfinished
    // for ever (as in Python); the test finishes it for the dead consumer, exactly once, and
    // only when the dead consumer was in that window.
    // The queue is quiet now: join(0) tells at once whether items are unfinished. The dead
    // consumer's state cannot say whether its task_done ran (it may have died just after), so
    // finish its item only when join says one is unfinished and it was in that window.
    bool compensated = false;
    if (!q.join(std::chrono::milliseconds(0))) {
      bool window = false;
      if (!victim_is_producer && landed) {
        const std::uint32_t st = b->state[victim - kProducers].load();
        window = st == 2 || (st == 1 && missing == 1);
      }
      it.check(window, "join() has unfinished items although no consumer died holding one");
      if (window) {
        try {
          q.task_done();
          compensated = true;
        } catch (const std::exception& e) {
          it.check(false, std::string("task_done for the dead consumer's item threw: ") + e.what());
        }
      }
    }
    it.check(q.join(5s),
             "JoinableQueue::join() did not return within 5 s (finished the dead "
             "consumer's item: " +
                 std::string(compensated ? "yes" : "no") + ")");
    bool threw = false;
    try {
      q.task_done();
    } catch (const mp::ValueError&) {
      threw = true;
    }
    it.check(threw, "task_done() past the items put did not throw ValueError");
  }
  (void)drained;
}

TEST_F(QueueChaos, QueueSmallMessages) {
  for (int i = 0; i < iterations(); ++i) {
    run_queue_iteration<mp::Queue<Msg>>("Queue put/get (small)", Sizes::small, i);
  }
}

TEST_F(QueueChaos, QueueLargeMessages) {
  for (int i = 0; i < iterations(); ++i) {
    run_queue_iteration<mp::Queue<Msg>>("Queue put/get (large, memfd)", Sizes::large, i);
  }
}

TEST_F(QueueChaos, JoinableQueue) {
  for (int i = 0; i < iterations(); ++i) {
    run_queue_iteration<mp::JoinableQueue<Msg>>("JoinableQueue put/get/task_done", Sizes::small, i);
  }
}

TEST_F(QueueChaos, JoinableQueueLargeMessages) {
  for (int i = 0; i < iterations(); ++i) {
    run_queue_iteration<mp::JoinableQueue<Msg>>("JoinableQueue (large, memfd)", Sizes::large, i);
  }
}

TEST_F(QueueChaos, SimpleQueue) {
  for (int i = 0; i < iterations(); ++i) {
    run_queue_iteration<mp::SimpleQueue<Msg>>("SimpleQueue put/get", Sizes::small, i);
  }
}

// --- Pipe: one sender, one receiver -------------------------------------------------------------

struct PipeBoard {
  std::atomic<std::uint64_t> acked;     // sends that returned
  std::atomic<std::uint64_t> received;  // messages received, in order
  std::atomic<std::uint32_t> eof;       // the receiver saw EOFError
  std::atomic<std::uint32_t> epipe;     // the sender saw EPIPE
  std::atomic<std::uint32_t> corrupt;
  ChildErrors errors;
};

void run_pipe_iteration(int index) {
  const std::string op = "Pipe send/recv";
  Iteration it(op, index);
  Rng rng(op, index);
  constexpr std::uint64_t kMessages = 300;
  Shared<PipeBoard> board;
  PipeBoard* b = board.get();
  auto [r, w] = mp::Pipe(false);

  mp::Process receiver([b, r = r, w = w]() mutable {
    w.close();
    try {
      for (;;) {
        if (!r.poll(std::chrono::seconds(20))) {
          b->errors.report("receiver: nothing and no EOF for 20 s");
          return;
        }
        Msg m;
        try {
          m = r.recv<Msg>();
        } catch (const mp::EOFError&) {
          b->eof.store(1);
          return;
        }
        if (std::string bad = verify(m, Sizes::pipe, kMessages); !bad.empty()) {
          b->corrupt.fetch_add(1);
          b->errors.report("receiver: " + bad);
          return;
        }
        if (std::get<0>(m) != b->received.load()) {
          b->errors.report("receiver: message " + std::to_string(std::get<0>(m)) + " out of order");
          return;
        }
        b->received.fetch_add(1);
      }
    } catch (const std::exception& e) {
      b->errors.report(std::string("receiver: ") + e.what());
    }
  });
  mp::Process sender([b, r = r, w = w]() mutable {
    r.close();
    try {
      for (std::uint64_t s = 0; s < kMessages; ++s) {
        w.send(make_msg(s, Sizes::pipe));
        b->acked.store(s + 1);
      }
    } catch (const std::system_error& e) {
      // The header promises EPIPE, also when the receiver died with unread data (which the
      // socket reports as ECONNRESET).
      if (e.code().value() == EPIPE) {
        b->epipe.store(1);
      } else {
        b->errors.report(std::string("sender: ") + e.what());
      }
    } catch (const std::exception& e) {
      b->errors.report(std::string("sender: ") + e.what());
    }
  });
  receiver.start();
  sender.start();
  r.close();  // the parent's copies: the children's ends must be the only ones
  w.close();

  const bool kill_sender = rng.chance(50);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  const std::uint64_t target = rng.below(kMessages * 3 / 4);
  mp::Process& victim = kill_sender ? sender : receiver;
  mp::Process& survivor = kill_sender ? receiver : sender;
  bool landed = kill_when(
      victim, [&] { return (kill_sender ? b->acked.load() : b->received.load()) >= target; }, delay,
      20s);
  it.check(join_bounded(victim, 10s), "the victim did not end after SIGKILL");
  landed = landed && victim.exitcode() == -9;
  if (landed) it.killed();
  it.note(std::string(kill_sender ? "sender" : "receiver") + (landed ? " killed" : " not killed") +
          " after " + std::to_string(delay) + " us; acked " + std::to_string(b->acked.load()) +
          ", received " + std::to_string(b->received.load()));
  it.check(join_bounded(survivor, child_timeout()), "the survivor hung");
  it.check(survivor.exitcode() == 0, "the survivor failed (exit code " +
                                         std::to_string(survivor.exitcode().value_or(999)) +
                                         (survivor.exitcode() == -13 ? ": SIGPIPE" : "") + ")");
  it.check(b->corrupt.load() == 0, "corrupted messages");
  it.check(b->errors.count.load() == 0, b->errors.first());
  const std::uint64_t acked = b->acked.load(), received = b->received.load();
  if (kill_sender) {
    // Everything acknowledged arrives, in order, then EOFError; the message cut short by the
    // kill is either whole or absent.
    it.check(b->eof.load() == 1, "the receiver did not see EOFError after the sender died");
    it.check(received == acked || received == acked + 1, "received " + std::to_string(received) +
                                                             " of " + std::to_string(acked) +
                                                             " acknowledged sends");
  } else {
    it.check(received <= acked, "received more than was sent");
    it.check(b->epipe.load() != 0 || acked == kMessages,
             "the sender neither finished nor saw EPIPE after the receiver died");
  }
}

TEST_F(QueueChaos, Pipe) {
  for (int i = 0; i < iterations(); ++i) run_pipe_iteration(i);
}

}  // namespace
}  // namespace mp::chaos
