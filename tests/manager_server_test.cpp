// tests/manager_server_test.cpp — the manager as a server: every SyncManager type with Python's
// behaviour, blocking calls that block only their caller, atomic read-modify-write, a dead
// client's lock released with owner-died, timeouts against a dead or hung server, objects freed
// with their last proxy, named objects shared through connect(), malformed requests.
//
// Every wait is bounded; a hung child is killed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/connection.hpp"
#include "mp/managers.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "support/children.hpp"
#include "support/leak_check.hpp"

namespace {

using mp::testing::child_pids;
using mp::testing::join_ok;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ManagerServerTest : public mp::testing::LeakCheckedTest {};

struct ManagerAndServer {
  explicit ManagerAndServer(mp::ManagerOptions options = {}) {
    const auto before = child_pids();
    manager = std::make_unique<mp::Manager>(options);
    for (int pid : child_pids()) {
      if (before.count(pid) == 0) server = pid;
    }
  }
  std::unique_ptr<mp::Manager> manager;
  int server = 0;
};

// Whether `pid` is stopped (state T in /proc/<pid>/stat), waiting up to `limit` for it.
bool wait_stopped(int pid, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'T')
      return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

TEST_F(ManagerServerTest, QueuesBehaveLikePython) {
  mp::Manager m;
  auto q = m.queue<std::string>(2);
  q.put("a");
  q.put("b");
  EXPECT_THROW(q.put("c", 10ms), mp::Full);
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(1s), "b");
  EXPECT_THROW(q.get(10ms), mp::Empty);
  EXPECT_THROW(q.get_nowait(), mp::Empty);
  EXPECT_EQ(q.try_get(), std::nullopt);
  EXPECT_THROW(q.task_done(), mp::ValueError) << "a plain Queue has no task_done";

  auto jq = m.joinable_queue<int>();
  jq.put(1);
  jq.put(2);
  EXPECT_FALSE(jq.join(10ms));
  mp::Process worker([jq]() mutable {
    for (int i = 0; i < 2; ++i) {
      jq.get(30s);
      jq.task_done();
    }
  });
  worker.start();
  EXPECT_TRUE(jq.join(30s));
  join_ok(worker);
  EXPECT_THROW(jq.task_done(), mp::ValueError) << "task_done() called too many times";
}

// A child blocked in get() with no timeout holds up no one else: the server serves each
// connection on its own thread.
TEST_F(ManagerServerTest, ABlockingCallBlocksOnlyItsCaller) {
  mp::ManagerOptions options;
  options.timeout = 5s;  // a server blocked by the child would fail the calls below
  mp::Manager m(options);
  auto q = m.queue<int>();
  auto started = m.event();
  auto d = m.dict<int, int>();
  mp::Process child([q, started]() mutable {
    started.set();
    std::exit(q.get() == 42 ? 0 : 1);
  });
  child.start();
  ASSERT_TRUE(started.wait_for(30s));
  for (int i = 0; i < 200; ++i) d[i] = i;
  EXPECT_EQ(d.size(), 200u);
  q.put(42);
  join_ok(child);
}

TEST_F(ManagerServerTest, LocksAndSemaphoresBehaveLikePython) {
  mp::Manager m;
  auto lock = m.lock();
  EXPECT_TRUE(lock.acquire());
  mp::Process other([lock]() mutable { std::exit(lock.acquire(false) ? 1 : 0); });
  other.start();
  join_ok(other);
  lock.release();
  EXPECT_THROW(lock.release(), mp::ValueError);
  {
    std::lock_guard guard(lock);  // BasicLockable
  }

  auto rlock = m.rlock();
  EXPECT_TRUE(rlock.acquire());
  EXPECT_TRUE(rlock.acquire(false)) << "recursive for its owner";
  mp::Process stranger([rlock]() mutable {
    try {
      rlock.release();
    } catch (const mp::ValueError&) {
      std::exit(rlock.acquire(false) ? 1 : 0);  // still held by the parent
    }
    std::exit(2);
  });
  stranger.start();
  join_ok(stranger);
  rlock.release();
  rlock.release();
  EXPECT_THROW(rlock.release(), mp::ValueError);

  auto sem = m.semaphore(2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_TRUE(sem.acquire());
  EXPECT_FALSE(sem.acquire(10ms));
  sem.release(2);
  EXPECT_EQ(sem.get_value(), 2);
  sem.release();  // unbounded
  auto bounded = m.bounded_semaphore(1);
  EXPECT_TRUE(bounded.acquire());
  bounded.release();
  EXPECT_THROW(bounded.release(), mp::ValueError);
}

TEST_F(ManagerServerTest, ConditionEventAndBarrierBehaveLikePython) {
  mp::Manager m;
  auto cond = m.condition();
  auto items = m.list<int>();
  EXPECT_THROW(cond.wait_for(1ms), mp::ValueError) << "waiting needs the lock";
  mp::Process consumer([cond, items]() mutable {
    std::lock_guard g(cond);
    const bool ok = cond.wait_for(30s, [&] { return items.size() > 0; });
    std::exit(ok && items.get(0) == 7 ? 0 : 1);
  });
  consumer.start();
  {
    std::lock_guard g(cond);
    items.append(7);
    cond.notify_all();
  }
  join_ok(consumer);
  {
    std::lock_guard g(cond);
    EXPECT_FALSE(cond.wait_for(10ms)) << "no one notifies";
  }

  auto event = m.event();
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait_for(10ms));
  mp::Process setter([event]() mutable { event.set(); });
  setter.start();
  EXPECT_TRUE(event.wait_for(30s));
  join_ok(setter);
  event.clear();
  EXPECT_FALSE(event.is_set());

  auto barrier = m.barrier(3);
  EXPECT_EQ(barrier.parties(), 3);
  auto indices = m.list<int>();
  std::vector<mp::Process> parties;
  for (int i = 0; i < 2; ++i) {
    parties.emplace_back([barrier, indices]() mutable { indices.append(barrier.wait(30s)); });
  }
  for (auto& p : parties) p.start();
  indices.append(barrier.wait(30s));
  for (auto& p : parties) join_ok(p);
  auto got = indices.copy();
  EXPECT_EQ(std::set<int>(got.begin(), got.end()), (std::set<int>{0, 1, 2}));
  EXPECT_THROW(barrier.wait(10ms), mp::BrokenBarrierError) << "a timeout breaks the barrier";
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(10ms), mp::BrokenBarrierError);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.n_waiting(), 0);
}

TEST_F(ManagerServerTest, ValuesArraysAndNamespaces) {
  mp::Manager m;
  auto v = m.value<double>(1.5);
  EXPECT_EQ(v.get(), 1.5);
  v += 2.0;
  v *= 2.0;
  EXPECT_EQ(v.get(), 7.0);
  EXPECT_TRUE(v.compare_and_set(7.0, 8.0));
  EXPECT_FALSE(v.compare_and_set(7.0, 9.0));
  EXPECT_EQ(v.get(), 8.0);
  auto big = m.value<int>(2147483647);
  EXPECT_THROW(big += 1, mp::ValueError) << "an overflow is refused, not undefined in the server";
  EXPECT_EQ(big.get(), 2147483647);

  auto a = m.array<int>(3);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.copy(), (std::vector{0, 0, 0}));
  a[1] = 5;
  a[-1] += 2;
  EXPECT_EQ(a.copy(), (std::vector{0, 5, 2}));
  EXPECT_THROW(a.get(3), std::out_of_range);
  std::vector<int> seen;
  for (int x : a) seen.push_back(x);  // over a snapshot, as a list proxy
  EXPECT_EQ(seen, (std::vector{0, 5, 2}));
  std::ostringstream printed;
  printed << a;
  EXPECT_EQ(printed.str(), "[0, 5, 2]");

  auto ns = m.namespace_();
  ns.set("x", 10);
  ns.set<std::string>("name", "mp");
  EXPECT_EQ(ns.get<int>("x"), 10);
  EXPECT_EQ(ns.get<std::string>("name"), "mp");
  EXPECT_TRUE(ns.contains("x"));
  EXPECT_EQ(ns.names(), (std::vector<std::string>{"name", "x"}));
  try {
    ns.get<double>("x");
    FAIL() << "a namespace attribute of another type must be refused";
  } catch (const mp::TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("int"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("double"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(ns.erase("x"));
  EXPECT_THROW(ns.get<int>("x"), std::out_of_range);
}

TEST_F(ManagerServerTest, DictReadModifyWriteIsAtomicUnderContention) {
  mp::Manager m;
  auto d = m.dict<std::string, long>();
  d["plus"] = 0;
  constexpr int kProcs = 4, kEach = 1000;
  std::vector<mp::Process> ps;
  for (int p = 0; p < kProcs; ++p) {
    ps.emplace_back([d]() mutable {
      for (int i = 0; i < kEach; ++i) {
        d["plus"] += 1;
        d.increment("counted");
      }
    });
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(d.get("plus"), kProcs * kEach);
  EXPECT_EQ(d.get("counted"), kProcs * kEach);

  EXPECT_THROW(d["missing"] += 1, std::out_of_range) << "as Python: KeyError";
  EXPECT_EQ(d.setdefault("s", 5), 5);
  EXPECT_EQ(d.setdefault("s", 6), 5);
  EXPECT_EQ(d.pop("s"), 5);
  EXPECT_THROW(d.pop("s"), std::out_of_range);
  EXPECT_EQ(d.pop("s", -1), -1);
  EXPECT_TRUE(d.compare_and_set("plus", kProcs * kEach, 1));
  EXPECT_FALSE(d.compare_and_set("plus", kProcs * kEach, 2));
  EXPECT_EQ(d.popitem(), (std::pair<std::string, long>("counted", kProcs * kEach)));

  auto words = m.dict<int, std::string>();
  words[1] = "a";
  words[1] += "b";
  EXPECT_EQ(words.get(1), "ab");

  std::vector<std::pair<int, std::string>> seen;
  for (const auto& [k, s] : words) seen.emplace_back(k, s);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{{1, "ab"}}));
}

// A holder killed with the lock: the next acquirer gets in and learns that the owner died.
TEST_F(ManagerServerTest, ALockHeldByAKilledClientIsReleasedWithOwnerDied) {
  mp::Manager m;
  auto lock = m.lock();
  auto held = m.event();
  mp::Process holder([lock, held]() mutable {
    lock.acquire();
    held.set();
    for (;;) ::pause();
  });
  holder.start();
  ASSERT_TRUE(held.wait_for(30s));
  EXPECT_FALSE(lock.acquire(10ms));
  holder.kill();
  ASSERT_TRUE(holder.join(30s));
  ASSERT_TRUE(lock.acquire(30s)) << "the dead holder's lock was never released";
  EXPECT_TRUE(lock.owner_died());
  EXPECT_EQ(lock.owner_deaths(), 1u);
  lock.release();
  ASSERT_TRUE(lock.acquire(1s));
  EXPECT_FALSE(lock.owner_died()) << "only the first acquirer after the death is told";
  lock.release();
}

TEST_F(ManagerServerTest, AKilledServerFailsCallsWithinTheirTimeout) {
  mp::ManagerOptions options;
  options.timeout = 2s;
  ManagerAndServer ms(options);
  ASSERT_GT(ms.server, 0);
  auto d = ms.manager->dict<int, int>();
  auto q = ms.manager->queue<int>();
  d[1] = 1;
  std::atomic<int> blocked_result{0};  // 1: threw as it should
  std::thread blocked([&, q]() mutable {
    try {
      q.get();  // no timeout: only the server's death ends it
    } catch (const std::exception&) {
      blocked_result = 1;
      return;
    }
    blocked_result = 2;
  });
  std::this_thread::sleep_for(100ms);  // not an ordering: the test passes if get() starts later
  ASSERT_EQ(::kill(ms.server, SIGKILL), 0);
  const auto start = Clock::now();
  EXPECT_ANY_THROW(d.get(1));
  EXPECT_ANY_THROW(d[2] = 2);
  EXPECT_LT(Clock::now() - start, 10s);
  blocked.join();
  EXPECT_EQ(blocked_result.load(), 1);
  ms.manager.reset();  // reaps the server
}

TEST_F(ManagerServerTest, AHungServerTimesOut) {
  mp::ManagerOptions options;
  options.timeout = 300ms;
  ManagerAndServer ms(options);
  ASSERT_GT(ms.server, 0);
  auto d = ms.manager->dict<int, int>();
  d[1] = 1;
  ASSERT_EQ(::kill(ms.server, SIGSTOP), 0);
  ASSERT_TRUE(wait_stopped(ms.server, 30s)) << "SIGSTOP takes effect after kill() returns";
  const auto start = Clock::now();
  EXPECT_THROW(d.get(1), mp::TimeoutError);
  EXPECT_LT(Clock::now() - start, 10s);
  ::kill(ms.server, SIGCONT);
  EXPECT_EQ(d.get(1), 1) << "the server serves again";
}

// 10 000 proxies made and dropped: the server frees every object (release_delay 0 here).
TEST_F(ManagerServerTest, ObjectsAreFreedWithTheirLastProxy) {
  mp::ManagerOptions options;
  options.release_delay = 0ms;
  mp::Manager m(options);
  auto kept = m.dict<int, int>();
  const std::size_t start = m.object_count();
  for (int i = 0; i < 10000; ++i) {
    auto d = m.dict<int, int>();
    auto copy = d;  // copies share one hold
    copy[i] = i;
  }
  EXPECT_EQ(m.object_count(), start);
  // A proxy that a child received keeps the object alive after the parent's copy is gone, and
  // goes when the child does.
  auto l = std::make_unique<mp::ListProxy<int>>(m.list<int>());
  auto announced = m.event();
  auto go = m.event();
  mp::Process child([l = *l, announced, go]() mutable {
    l.append(1);  // carries the child's hold to the server
    announced.set();
    go.wait_for(30s);
    l.append(2);
    std::exit(l.size() == 2 ? 0 : 1);
  });
  child.start();
  ASSERT_TRUE(announced.wait_for(30s));
  l.reset();
  kept[0] = 0;  // carries the parent's drop
  go.set();
  join_ok(child);
  // The child's end reaches the server on its anchor, a moment after the exit.
  const auto deadline = Clock::now() + 30s;
  while (m.object_count() != start + 2 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(m.object_count(), start + 2) << "the two events are left; the list went with the child";
}

TEST_F(ManagerServerTest, NamedObjectsAreSharedThroughConnect) {
  const std::string dir = "/tmp/mp-test-" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0700);
  mp::ManagerOptions options;
  options.address = dir + "/manager.sock";
  options.authkey = "secret";
  {
    mp::Manager served(options);
    auto jobs = served.queue<std::string>("jobs");
    jobs.put("first");
    mp::Process other([address = served.address()] {
      auto remote = mp::Manager::connect(address, "secret");
      auto jobs = remote.queue<std::string>("jobs");
      auto seen = remote.dict<std::string, int>("seen");
      seen["first"] += 0;  // KeyError unless the parent made it
      std::exit(jobs.get(30s) == "first" && seen.get("first") == 1 ? 0 : 1);
    });
    auto seen = served.dict<std::string, int>("seen");
    seen["first"] = 1;
    other.start();
    join_ok(other);
    try {
      served.queue<int>("jobs");
      FAIL() << "a named object of another type must be refused";
    } catch (const mp::TypeError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("Queue of int"), std::string::npos) << what;
      EXPECT_NE(what.find("std::string"), std::string::npos) << what;
    }
    EXPECT_THROW(mp::Manager::connect(served.address(), "wrong"), mp::AuthenticationError);
  }
  ::rmdir(dir.c_str());
}

// Over TCP: port 0 picks a free port, and address() says which.
TEST_F(ManagerServerTest, AManagerServesOverTcp) {
  mp::ManagerOptions options;
  options.address = "127.0.0.1:0";
  options.authkey = "tcp-key";
  mp::Manager served(options);
  ASSERT_EQ(served.address().rfind("127.0.0.1:", 0), 0u) << served.address();
  ASSERT_NE(served.address(), "127.0.0.1:0");
  auto counter = served.value<int>("counter", 0);
  mp::Process other([address = served.address()] {
    auto remote = mp::Manager::connect(address, "tcp-key");
    auto counter = remote.value<int>("counter", 0);
    for (int i = 0; i < 100; ++i) counter += 1;
  });
  other.start();
  for (int i = 0; i < 100; ++i) counter += 1;
  join_ok(other);
  EXPECT_EQ(counter.get(), 200);
}

// Clients that connect and never answer the handshake hold up only themselves: the server
// authenticates each connection on its own thread. (Authenticated in the accept loop, each
// silent client stalled every later one for the handshake's timeout, 5 s.)
// A client that connects to the manager at `address` ("host:port") and says nothing: the
// server holds a descriptor for it until its handshake times out (5 s).
int connect_silently(const std::string& address) {
  const auto port = std::stoi(address.substr(address.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(ManagerServerTest, SilentClientsDoNotDelayOthers) {
  mp::ManagerOptions options;
  options.address = "127.0.0.1:0";
  options.authkey = "key";
  mp::Manager served(options);
  std::vector<int> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(connect_silently(served.address()));
    ASSERT_GE(silent.back(), 0);
  }
  const auto start = Clock::now();
  auto remote = mp::Manager::connect(served.address(), "key");
  auto d = remote.dict<std::string, int>("d");
  d["x"] = 1;
  EXPECT_EQ(d.get("x"), 1);
  // Three silent clients in the accept loop would have taken 15 s (3 x 5 s) first.
  EXPECT_LT(Clock::now() - start, 4s);
  for (int fd : silent) ::close(fd);
}

// A server with no descriptor left for the next connection neither spins on its listener nor
// stops: it pauses, and lets connections in again once clients give descriptors back.
TEST_F(ManagerServerTest, AServerOutOfDescriptorsPausesInsteadOfSpinning) {
  mp::ManagerOptions options;
  options.address = "127.0.0.1:0";
  options.authkey = "key";
  ManagerAndServer ms(options);
  ASSERT_GT(ms.server, 0);
  const std::string proc = "/proc/" + std::to_string(ms.server);
  auto open_fds = [&] {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(proc + "/fd")) {
      (void)e;
      ++n;
    }
    return n;
  };
  auto cpu_ticks = [&] {  // utime + stime, fields 14 and 15 of /proc/<pid>/stat
    std::ifstream in(proc + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stol(field);
      if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
  };
  const rlimit lim{open_fds() + 6, open_fds() + 6};
  ASSERT_EQ(::prlimit(ms.server, RLIMIT_NOFILE, &lim, nullptr), 0) << std::strerror(errno);
  std::vector<int> silent;
  for (int i = 0; i < 16; ++i) {
    silent.push_back(connect_silently(ms.manager->address()));
    ASSERT_GE(silent.back(), 0);
  }
  const auto until = Clock::now() + 10s;
  while (open_fds() < lim.rlim_cur && Clock::now() < until) std::this_thread::sleep_for(5ms);
  ASSERT_GE(open_fds(), lim.rlim_cur) << "the server did not run out of descriptors";
  const long before = cpu_ticks();
  std::this_thread::sleep_for(500ms);  // a window to measure, not an ordering
  // Spinning on the listener took about 50 ticks (of 10 ms) in this half second.
  EXPECT_LT(cpu_ticks() - before, 15);
  for (int fd : silent) ::close(fd);
  auto remote = mp::Manager::connect(ms.manager->address(), "key");
  auto d = remote.dict<int, int>();
  d[1] = 2;
  EXPECT_EQ(d.get(1), 2);
}

TEST_F(ManagerServerTest, MalformedRequestsGetAnErrorAndTheServerKeepsServing) {
  mp::Manager m;
  auto d = m.dict<int, int>();
  d[1] = 1;
  mp::Connection raw = mp::Client(m.address(), m.authkey());
  for (std::string junk : {std::string(), std::string("x"), std::string(64, '\xff')}) {
    raw.send_bytes(std::as_bytes(std::span(junk)));
    ASSERT_TRUE(raw.poll(30s));
    EXPECT_FALSE(raw.recv_bytes().empty()) << "an error reply";
  }
  // A well-formed request that names a value of the wrong type for the object.
  mp::detail::manager::Request r;
  r.op = mp::detail::manager::Op::set;
  r.object = 1;
  r.values = {mp::encode(std::string("k")), mp::encode(1)};
  raw.send_bytes(mp::encode(r));
  ASSERT_TRUE(raw.poll(30s));
  raw.recv_bytes();
  raw.close();
  EXPECT_EQ(d.get(1), 1);
  EXPECT_EQ(d.size(), 1u) << "nothing of the wrong type got in";
}

// Calls on one machine go through a shared-memory mailbox beside the socket
// (services/manager/link.hpp); what does not fit travels on the socket. Sizes around the
// mailbox's 32 KiB, both ways, interleaved with small calls.
TEST_F(ManagerServerTest, MessagesOfEverySizeCrossTheMailbox) {
  mp::Manager m;
  auto d = m.dict<int, std::string>();
  auto l = m.list<std::string>();
  const std::size_t sizes[] = {0, 1, (32u << 10) - 200, 32u << 10, (32u << 10) + 1, 1u << 20};
  int key = 0;
  for (std::size_t n : sizes) {
    const std::string value(n, static_cast<char>('a' + key % 26));
    d[key] = value;
    l.append(value);
    EXPECT_EQ(d.get(key), value) << n << " bytes";
    EXPECT_EQ(d.size(), static_cast<std::size_t>(key + 1));
    ++key;
  }
  const std::vector<std::string> all = l.copy();  // one reply larger than the mailbox
  ASSERT_EQ(all.size(), std::size(sizes));
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].size(), sizes[i]);
}

// The server maps each call connection's mailbox: with a Unix socket, calls use one.
TEST_F(ManagerServerTest, CallsOnOneMachineUseAMailbox) {
  ManagerAndServer ms;
  ASSERT_GT(ms.server, 0);
  auto d = ms.manager->dict<int, int>();
  d[1] = 1;
  ASSERT_EQ(d.get(1), 1);
  std::ifstream maps("/proc/" + std::to_string(ms.server) + "/maps");
  int mailboxes = 0;
  for (std::string line; std::getline(maps, line);) {
    unsigned long from = 0, to = 0;
    if (line.find("/memfd:") == std::string::npos) continue;
    if (std::sscanf(line.c_str(), "%lx-%lx", &from, &to) != 2) continue;
    if (to - from == 69632) ++mailboxes;  // 256 bytes of counters + 2 × 32 KiB, in pages
  }
  EXPECT_GE(mailboxes, 1);
}

// Sends one frame carrying `fd` (SCM_RIGHTS), as runtime/framing.hpp lays it out.
void send_frame_with_fd(int socket, std::span<const std::byte> payload, int fd) {
  const std::uint64_t header = payload.size() | (std::uint64_t{1} << 63);
  ASSERT_EQ(::send(socket, &header, sizeof header, 0), static_cast<ssize_t>(sizeof header));
  iovec iov{const_cast<std::byte*>(payload.data()), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ASSERT_EQ(::sendmsg(socket, &msg, 0), static_cast<ssize_t>(payload.size()));
}

// A mailbox offer without a descriptor, with a pipe, or with memory of the wrong size gets an
// error reply on the socket, and the connection and the server go on serving.
TEST_F(ManagerServerTest, BadMailboxOffersGetAnError) {
  mp::Manager m;
  auto d = m.dict<int, int>();
  d[1] = 1;
  mp::Connection raw = mp::Client(m.address(), m.authkey());
  mp::detail::manager::Request offer;
  offer.op = mp::detail::manager::Op::mailbox;
  const auto bytes = mp::encode(offer);
  auto expect_error_reply = [&] {
    ASSERT_TRUE(raw.poll(30s));
    const auto reply = raw.recv_bytes();
    ASSERT_FALSE(reply.empty());
    EXPECT_EQ(static_cast<int>(reply[0]), 0) << "an error outcome (runtime/outcome.cpp)";
  };
  raw.send_bytes(bytes);  // no descriptor
  expect_error_reply();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  send_frame_with_fd(raw.fileno(), bytes, pipe_fds[0]);
  expect_error_reply();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  // Memory the client could still shrink under the server (a fault there would kill it for
  // every client), of the right size or not, and sealed memory of the wrong size.
  constexpr off_t kMailboxBytes = 256 + 2 * (32 << 10);
  for (auto [size, sealed] : {std::pair{off_t{4096}, false}, std::pair{kMailboxBytes, false},
                              std::pair{off_t{4096}, true}}) {
    const int memfd = ::memfd_create("offer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(memfd, 0);
    ASSERT_EQ(::ftruncate(memfd, size), 0);
    if (sealed) ASSERT_EQ(::fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    send_frame_with_fd(raw.fileno(), bytes, memfd);
    expect_error_reply();
    ::close(memfd);
  }
  // Still a plain socket connection: an ordinary request is answered on it.
  mp::detail::manager::Request count;
  count.op = mp::detail::manager::Op::object_count;
  raw.send_bytes(mp::encode(count));
  ASSERT_TRUE(raw.poll(30s));
  const auto reply = raw.recv_bytes();
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(static_cast<int>(reply[0]), 1) << "a result";
  raw.close();
  EXPECT_EQ(d.get(1), 1);
}

// Through a mailbox a reply reaches its client without a system call, so a client can take an
// item and exit before the server looks whether it is still there. Each child takes one item
// and exits at once: every item arrives once, and none goes back into the queue.
TEST_F(ManagerServerTest, ItemsTakenByClientsThatExitAreNotGivenAgain) {
  mp::Manager m;
  auto q = m.queue<int>();
  mp::Queue<int> back;
  constexpr int kItems = 96, kAtOnce = 8;
  for (int i = 0; i < kItems; ++i) q.put(i);
  std::set<int> got;
  for (int first = 0; first < kItems; first += kAtOnce) {
    std::vector<mp::Process> children;
    for (int c = 0; c < kAtOnce; ++c) {
      children.emplace_back([q, back]() mutable { back.put(q.get(30s)); });
      children.back().start();
    }
    for (int c = 0; c < kAtOnce; ++c) {
      const int item = back.get(30s);
      EXPECT_TRUE(got.insert(item).second) << "item " << item << " came twice";
    }
    for (auto& child : children) join_ok(child);
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(kItems));
  EXPECT_THROW(q.get(300ms), mp::Empty) << "an item taken by a child that exited came back";
}

// Calls far enough apart that both sides sleep between them: each request and reply then
// rings its receiver's doorbell. A lost wake-up would show as a TimeoutError.
TEST_F(ManagerServerTest, CallsAfterSleepsRingTheDoorbell) {
  mp::ManagerOptions options;
  options.timeout = 10s;
  mp::Manager m(options);
  auto d = m.dict<int, int>();
  for (int i = 0; i < 60; ++i) {
    std::this_thread::sleep_for(300us);  // longer than either side spins
    d[i % 4] = i;
    EXPECT_EQ(d.get(i % 4), i);
  }
}

// The server's threads for a client's connections end when the client does.
TEST_F(ManagerServerTest, AClientsConnectionThreadsEndWithIt) {
  ManagerAndServer ms;
  ASSERT_GT(ms.server, 0);
  auto d = ms.manager->dict<int, int>();
  d[0] = 0;
  auto threads = [&] {
    std::size_t n = 0;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(ms.server) + "/task")) {
      (void)e;
      ++n;
    }
    return n;
  };
  const std::size_t before = threads();
  mp::Process client([d]() mutable {
    std::vector<std::thread> ts;  // calls at once: a connection each
    for (int t = 1; t <= 3; ++t) {
      ts.emplace_back([d, t]() mutable {
        for (int i = 0; i < 50; ++i) d.increment(t, 1);
      });
    }
    for (auto& t : ts) t.join();
  });
  client.start();
  join_ok(client);
  EXPECT_EQ(d.get(1), 50);
  const auto end = Clock::now() + 20s;
  while (threads() > before && Clock::now() < end) std::this_thread::sleep_for(10ms);
  EXPECT_LE(threads(), before);
}

}  // namespace
