// tests/start_method_test.cpp — Process behaviour under every start method (fork, spawn,
// forkserver): one body of tests, parametrized, as CPython runs its suite under each method.
// Targets here are function pointers and captureless lambdas with encodable arguments, which
// every method can run; what only fork can run is refused with a clear error.
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.hpp"
#include "runtime/process_state.hpp"
#include "support/command.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"

namespace {

using namespace std::chrono_literals;

void returns() {}
void throws() {
  throw std::invalid_argument("bad input");
}
void exits_with(int code) {
  std::exit(code);
}
void kills_itself() {
  ::raise(SIGKILL);
}
[[noreturn]] void blocks() {
  for (;;) ::pause();
}

// Exit code 0 when the child received exactly these values.
void check_arguments(std::string s, std::vector<int> v, std::map<std::string, double> m) {
  const bool ok = s == "hello" && v == std::vector<int>{1, 2, 3} && m.size() == 2 &&
                  m.at("pi") == 3.5 && m.at("e") == 2.5;
  std::exit(ok ? 0 : 2);
}

// Exit code 0 when the child sees itself and its parent as Python would.
void check_identity(std::string name, int parent_pid, bool daemon, mp::StartMethod method) {
  auto self = mp::current_process();
  auto parent = mp::parent_process();
  if (self.name() != name) std::exit(2);
  if (self.daemon() != daemon) std::exit(3);
  if (!parent || parent->pid() != parent_pid) std::exit(4);
  if (self.pid() != ::getpid()) std::exit(5);
  if (self.start_method() != method) std::exit(6);
  std::exit(0);
}

// An encodable function object with state of its own.
struct Scaled {
  int factor = 0;
  void operator()(int x) const { std::exit(x * factor == 42 ? 0 : 2); }
  template <class A>
  void serialize(A& ar) {
    ar(factor);
  }
};

class StartMethodTest : public mp::testing::MethodTest {
 protected:
  template <class F, class... Args>
  int run(F&& f, Args&&... args) {
    auto p = ctx().Process(std::forward<F>(f), std::forward<Args>(args)...);
    p.start();
    if (!p.join(30s)) {
      p.kill();
      p.join();
      ADD_FAILURE() << "child did not end within 30 s";
    }
    return *p.exitcode();
  }
};

MP_INSTANTIATE_FOR_EVERY_METHOD(StartMethodTest);

TEST_P(StartMethodTest, ExitCodesFollowPython) {
  EXPECT_EQ(run(returns), 0);
  EXPECT_EQ(run(throws), 1);
  EXPECT_EQ(run(exits_with, 7), 7);
  EXPECT_EQ(run(kills_itself), -SIGKILL);
}

TEST_P(StartMethodTest, ArgumentsArriveIntact) {
  EXPECT_EQ(run(check_arguments, std::string("hello"), std::vector<int>{1, 2, 3},
                std::map<std::string, double>{{"pi", 3.5}, {"e", 2.5}}),
            0);
}

TEST_P(StartMethodTest, LambdasAndFunctionObjectsRun) {
  EXPECT_EQ(run([](int a, int b) { std::exit(a + b); }, 4, 5), 9);
  EXPECT_EQ(run(Scaled{6}, 7), 0);
}

TEST_P(StartMethodTest, TheChildKnowsItselfAndItsParent) {
  auto p = ctx().Process(check_identity, std::string("worker-7"), static_cast<int>(::getpid()),
                         true, GetParam());
  p.set_name("worker-7");
  p.set_daemon(true);
  p.start();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(StartMethodTest, ChildrenInheritTheAuthkeyUnlessGivenOne) {
  const std::string key = mp::current_process().authkey();
  ASSERT_EQ(key.size(), 32u);  // Python's: 32 random bytes
  EXPECT_EQ(mp::current_process().authkey(), key);
  mp::Queue<std::string> keys;
  auto report = [](mp::Queue<std::string> keys) { keys.put(mp::current_process().authkey()); };
  auto inherits = ctx().Process(report, keys);
  EXPECT_EQ(inherits.authkey(), key);
  inherits.start();
  EXPECT_EQ(keys.get(30s), key);
  ASSERT_TRUE(inherits.join(30s));
  auto given = ctx().Process(report, keys);
  given.set_authkey("open sesame");
  given.start();
  EXPECT_EQ(keys.get(30s), "open sesame");
  ASSERT_TRUE(given.join(30s));
  EXPECT_THROW(given.set_authkey(""), mp::ValueError);
}

TEST_P(StartMethodTest, TerminateJoinTimeoutAndSentinel) {
  auto p = ctx().Process(blocks);
  p.start();
  EXPECT_FALSE(p.join(50ms));
  EXPECT_TRUE(p.is_alive());
  EXPECT_GT(p.pid(), 0);
  EXPECT_GE(p.sentinel(), 0);
  p.terminate();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), -SIGTERM);
  EXPECT_FALSE(p.is_alive());
  EXPECT_TRUE(mp::active_children().empty());
}

TEST_P(StartMethodTest, ACapturingLambdaRunsOnlyUnderFork) {
  const int x = 3;
  auto p = ctx().Process([x] { std::exit(x); });
  if (GetParam() == mp::StartMethod::fork) {
    p.start();
    ASSERT_TRUE(p.join(30s));
    EXPECT_EQ(p.exitcode(), 3);
    return;
  }
  try {
    p.start();
    FAIL() << "a capturing lambda started under " << mp::to_string(GetParam());
  } catch (const mp::ProcessError& e) {
    EXPECT_NE(std::string(e.what()).find("captures"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(p.is_alive());
}

// Also: atexit handlers and static destructors run once, in the parent (the helper's output).
TEST_P(StartMethodTest, OutputBufferedBeforeStartIsPrintedOnce) {
  auto r = mp::testing::run_command(
      {"/usr/bin/env", std::string("MP_START_METHOD=") + mp::to_string(GetParam()),
       MP_PROCESS_HELPER, "exit-handlers"},
      30s);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exitcode, 0) << r.err;
  EXPECT_EQ(r.out,
            "child returns\nchild calls exit\ncodes 0 3\natexit handler\nstatic destructor\n");
}

TEST_P(StartMethodTest, ADaemonDiesWhenItsParentIsKilled) {
  mp::testing::RunningCommand helper({"/usr/bin/env",
                                      std::string("MP_START_METHOD=") + mp::to_string(GetParam()),
                                      MP_PROCESS_HELPER, "daemon-orphan"});
  const std::string line = helper.read_line(30s);
  ASSERT_FALSE(line.empty());
  const int daemon_pid = std::stoi(line);
  helper.kill(SIGKILL);
  EXPECT_EQ(helper.wait(10s), -SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!mp::testing::pid_gone(daemon_pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(mp::testing::pid_gone(daemon_pid)) << "daemon outlived its parent";
  if (!mp::testing::pid_gone(daemon_pid)) ::kill(daemon_pid, SIGKILL);
}

TEST_P(StartMethodTest, ManyStartsLeakNothing) {
  for (int i = 0; i < 50; ++i) ASSERT_EQ(run(exits_with, i), i);
}

// --- handles as arguments --------------------------------------------------------------------

void add_under_lock(mp::Value<int> v, mp::Lock lock, int times) {
  for (int i = 0; i < times; ++i) {
    std::lock_guard g(lock);
    v.value() += 1;
  }
}

void put_and_set(mp::Queue<std::string> q, mp::Event done, mp::Array<double> a) {
  a[0] = 1.5;
  q.put("from " + mp::current_process().name());
  done.set();
}

// Exits 0 once the parent's end is closed and recv reports EOF; 2 if a message came instead.
void wait_for_eof(mp::Connection reader, mp::Connection ready) {
  ready.send(1);
  try {
    reader.recv<int>();
  } catch (const mp::EOFError&) {
    std::exit(0);
  }
  std::exit(2);
}

TEST_P(StartMethodTest, HandlesGivenAsArgumentsShareTheirObject) {
  mp::Value<int> v(0);
  mp::Lock lock;
  auto a = ctx().Process(add_under_lock, v, lock, 500);
  auto b = ctx().Process(add_under_lock, v, lock, 500);
  a.start();
  b.start();
  ASSERT_TRUE(a.join(30s));
  ASSERT_TRUE(b.join(30s));
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_EQ(b.exitcode(), 0);
  EXPECT_EQ(v.value(), 1000);

  mp::Queue<std::string> q;
  mp::Event done;
  mp::Array<double> arr(4);
  auto p = ctx().Process(put_and_set, q, done, arr);
  p.set_name("putter");
  p.start();
  EXPECT_EQ(q.get(30s), "from putter");
  EXPECT_TRUE(done.wait_for(30s));
  EXPECT_EQ(arr[0], 1.5);
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(StartMethodTest, ClosingTheParentsEndOfAPipeGivesTheChildEOF) {
  auto [reader, writer] = mp::Pipe(false);
  auto [ready_r, ready_w] = mp::Pipe(false);
  auto p = ctx().Process(wait_for_eof, reader, ready_w);
  p.start();
  ASSERT_TRUE(ready_r.poll(30s));
  EXPECT_EQ(ready_r.recv<int>(), 1);
  // Under fork the child copied the writer too (as in Python), so it never sees EOF: only the
  // methods that give a child nothing but its arguments can pass this.
  if (GetParam() == mp::StartMethod::fork) {
    p.kill();
    p.join();
    return;
  }
  writer.close();
  reader.close();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

void fill_dict(mp::DictProxy<std::string, int> d, mp::ListProxy<std::string> l) {
  d["from child"] = 7;
  l.append(mp::current_process().name());
}

TEST_P(StartMethodTest, ManagerProxiesGivenAsArgumentsReachTheSameObject) {
  mp::Manager manager;
  auto d = manager.dict<std::string, int>();
  auto l = manager.list<std::string>();
  auto p = ctx().Process(fill_dict, d, l);
  p.set_name("filler");
  p.start();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(d.get("from child"), 7);
  EXPECT_EQ(l.copy(), std::vector<std::string>{"filler"});
  using UnboundDict = mp::DictProxy<std::string, int>;
  EXPECT_THROW(UnboundDict().size(), mp::ValueError);
}

// An uncaught exception prints Python's report under every method: "Process <name>:" and the
// error, on stderr; the exit code is 1.
TEST_P(StartMethodTest, AnUncaughtExceptionIsReportedAsPythonDoes) {
  auto r = mp::testing::run_command(
      {"/usr/bin/env", std::string("MP_START_METHOD=") + mp::to_string(GetParam()),
       MP_PROCESS_HELPER, "uncaught"},
      30s);
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.err.find("Process Worker-9:\nstd::runtime_error: boom\n"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.rfind("exit code 1\n", 0), 0u) << r.out;
}

// --- spawn and forkserver only ------------------------------------------------------------------

// A child running another build (here: another program) refuses the target, naming both builds.
TEST(StartMethodBuildTest, AMismatchedBuildIsRefusedWithBothIds) {
  for (auto method : {mp::StartMethod::spawn, mp::StartMethod::forkserver}) {
    char path[] = "/tmp/mp-build-test-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const int saved = ::dup(2);
    ::dup2(fd, 2);
    mp::set_executable(MP_PROCESS_HELPER);
    auto p = mp::get_context(method).Process(exits_with, 0);
    p.start();
    const bool joined = p.join(30s);
    mp::set_executable("");
    mp::detail::stop_forkserver();
    ::dup2(saved, 2);
    ::close(saved);
    ::close(fd);
    if (!joined) {
      p.kill();
      p.join();
    }
    std::ifstream in(path);
    std::stringstream err;
    err << in.rdbuf();
    ::unlink(path);
    EXPECT_EQ(p.exitcode(), 1) << mp::to_string(method);
    char ours[17];
    const std::uint64_t build = mp::detail::executable_build();
    for (int i = 0; i < 8; ++i) {
      std::snprintf(ours + 2 * i, 3, "%02x", reinterpret_cast<const unsigned char*>(&build)[i]);
    }
    EXPECT_NE(err.str().find(std::string("comes from build ") + ours), std::string::npos)
        << err.str();
    EXPECT_NE(err.str().find("this process runs build"), std::string::npos) << err.str();
  }
}

TEST(StartMethodBuildTest, ForeignCodeRefsAreRefused) {
  mp::detail::CodeRef ref = mp::detail::code_ref_of(&returns);
  EXPECT_EQ(mp::detail::resolve_function<void()>(ref), &returns);
  mp::detail::CodeRef other_build = ref;
  other_build.build ^= 1;
  EXPECT_THROW(mp::detail::resolve_code(other_build), mp::ProcessError);
  mp::detail::CodeRef outside = ref;
  outside.offset = std::uint64_t{1} << 40;  // far past the code of this program
  EXPECT_THROW(mp::detail::resolve_code(outside), mp::ProcessError);
  int data = 0;
  EXPECT_THROW(mp::detail::code_ref(&data), mp::ProcessError);  // a stack address is not code
}

// Python's spellings: get_context("spawn"), set_start_method("fork").
TEST(StartMethodNameTest, MethodsAreNamedAsInPython) {
  for (mp::StartMethod m : mp::get_all_start_methods()) {
    EXPECT_EQ(mp::get_context(mp::to_string(m)).get_start_method(), m);
  }
  EXPECT_THROW(mp::get_context("vfork"), mp::ValueError);
  EXPECT_THROW(mp::set_start_method("Fork"), mp::ValueError);
  const mp::StartMethod before = mp::get_start_method();
  mp::set_start_method("spawn");
  EXPECT_EQ(mp::get_start_method(), mp::StartMethod::spawn);
  mp::set_start_method(before);
}

TEST(ForkserverPreloadTest, ChildrenStartWithWhatTheServerPreloaded) {
  // The helper's preload records the server's pid; each forkserver child exits 42 when it finds
  // a pid there other than its own. The first preload function throws: reported, and no harm.
  auto r = mp::testing::run_command({MP_PROCESS_HELPER, "forkserver-preload"}, 60s);
  ASSERT_EQ(r.exitcode, 0) << r.err;
  EXPECT_EQ(r.out.rfind("42\n42\n", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("mp: a forkserver preload function failed: no such plugin"),
            std::string::npos)
      << r.err;
}

TEST(ForkserverPreloadTest, ANullFunctionIsRefused) {
  EXPECT_THROW(mp::set_forkserver_preload({nullptr}), mp::ValueError);
}

TEST(StartMethodEnvTest, TheEnvironmentPicksTheDefault) {
  auto r = mp::testing::run_command(
      {"/usr/bin/env", "MP_START_METHOD=forkserver", MP_PROCESS_HELPER, "print-start-method"}, 30s);
  EXPECT_EQ(r.out.rfind("forkserver\n", 0), 0u) << r.out << r.err;
  r = mp::testing::run_command(
      {"/usr/bin/env", "MP_START_METHOD=vfork", MP_PROCESS_HELPER, "print-start-method"}, 30s);
  EXPECT_NE(r.exitcode, 0);
  EXPECT_NE(r.err.find("MP_START_METHOD=vfork"), std::string::npos) << r.err;
}

TEST(StartMethodEnvTest, AMissingFreezeSupportIsAnErrorNotASecondMain) {
  auto r = mp::testing::run_command({MP_FREEZE_HELPER, "never"}, 30s);
  EXPECT_EQ(r.out, "main\nexit code 1\n") << r.err;
  EXPECT_NE(r.err.find("never calls mp::freeze_support()"), std::string::npos) << r.err;
}

}  // namespace

// --- busy threads --------------------------------------------------------------------------------

// Eight threads hammer malloc, std::cout and mutexes of their own while the main thread starts
// processes: a start never copies a lock another thread holds under spawn and forkserver, so
// none may hang. (Under fork it could: that is what the fork warning is about.)
class BusyThreads {
 public:
  BusyThreads() {
    null_ = std::fopen("/dev/null", "w");
    saved_stdout_ = ::dup(1);
    ::dup2(::fileno(null_), 1);  // std::cout's flood goes nowhere; children inherit the same
    for (int t = 0; t < 8; ++t) {
      threads_.emplace_back([this, t] {
        std::vector<std::unique_ptr<char[]>> blocks;
        for (std::uint64_t i = 0; !stop_.load(std::memory_order_relaxed); ++i) {
          blocks.emplace_back(new char[16 + (i * 7919 + t) % 4096]);
          if (blocks.size() > 64) blocks.clear();
          std::lock_guard lock(mutexes_[i % mutexes_.size()]);
          std::cout << "thread " << t << " round " << i << '\n';
        }
      });
    }
  }
  ~BusyThreads() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    std::cout.flush();
    ::dup2(saved_stdout_, 1);
    ::close(saved_stdout_);
    std::fclose(null_);
  }

 private:
  std::atomic<bool> stop_{false};
  std::array<std::mutex, 4> mutexes_;
  std::vector<std::thread> threads_;
  std::FILE* null_ = nullptr;
  int saved_stdout_ = -1;
};

void allocates_and_prints(int i) {
  std::vector<std::string> v(64, std::string(100, 'x'));
  std::cout << "child " << i << ' ' << v.size() << std::endl;
}

class StartBesideThreadsTest : public StartMethodTest {};
INSTANTIATE_TEST_SUITE_P(SafeMethods, StartBesideThreadsTest,
                         ::testing::Values(mp::StartMethod::spawn, mp::StartMethod::forkserver),
                         mp::testing::method_name);

TEST_P(StartBesideThreadsTest, AThousandStartsBesideEightBusyThreadsNeverHang) {
  // Sanitized builds exec slowly (tens of milliseconds a start): fewer starts, the same hazard.
  const int starts = mp::testing::kSanitized ? 100 : 1000;
  BusyThreads busy;
  for (int i = 0; i < starts; ++i) {
    auto p = ctx().Process(allocates_and_prints, i);
    p.start();
    if (!p.join(30s)) {
      p.kill();
      p.join();
      FAIL() << "start " << i << " hung";
    }
    ASSERT_EQ(p.exitcode(), 0) << "start " << i;
  }
}

int cube(int x) {
  return x * x * x;
}

TEST_P(StartBesideThreadsTest, AHundredPoolsBesideEightBusyThreadsNeverHang) {
  const int pools = mp::testing::kSanitized ? 10 : 100;
  BusyThreads busy;
  for (int i = 0; i < pools; ++i) {
    mp::Pool pool(2, mp::PoolOptions{.context = ctx()});
    ASSERT_EQ(pool.map_async(cube, std::vector{1, 2, 3}).get(30s), (std::vector{1, 8, 27}))
        << "pool " << i;
    pool.close();
    pool.join();
  }
}
