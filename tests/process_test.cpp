// tests/process_test.cpp — mp::Process: exit codes, names, output, reaping, daemons, misuse.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mp/context.hpp"
#include "mp/process.hpp"
#include "mp/synchronize.hpp"
#include "support/command.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using mp::testing::LeakCheckedTest;
using Clock = std::chrono::steady_clock;

class ProcessTest : public LeakCheckedTest {};

// --- this binary, re-entered as a test binary that gets killed --------------------------------
//
// ChildrenOfAKilledTestBinaryDieWithIt runs this binary again with kRole as its only argument.
// Then, before gtest's main, it forks one child from its main thread and one from a short-lived
// thread, reports "<pid of the first> <what became of the second>", and waits to be killed.

constexpr const char* kRole = "--mp-test-role=killed-test-binary";

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (!cond()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A child that lives until it is killed, or a minute at most (should the test fail).
[[noreturn]] void linger() {
  ::alarm(60);
  for (;;) ::pause();
}

[[noreturn]] void act_as_killed_test_binary() {
  mp::testing::children_die_with_test();
  ::alarm(60);  // this process too, should the test that kills it fail
  const pid_t from_main = ::fork();
  if (from_main == 0) linger();
  // A child forked from a thread that then ends must not die with that thread: it answers a
  // ping sent after the thread is gone from /proc/self/task (by then the kernel has sent any
  // death signal, and a SIGKILL pending on the child would keep it from answering).
  int ping[2], pong[2];
  if (::pipe2(ping, O_CLOEXEC) != 0 || ::pipe2(pong, O_CLOEXEC) != 0) std::_Exit(2);
  pid_t from_thread = -1;
  long thread_tid = 0;
  std::thread([&] {
    thread_tid = ::syscall(SYS_gettid);
    from_thread = ::fork();
    if (from_thread == 0) {
      ::close(ping[1]);
      pollfd in{ping[0], POLLIN, 0};
      char c = 0;
      if (::poll(&in, 1, 30000) == 1 && ::read(ping[0], &c, 1) == 1)
        (void)!::write(pong[1], "k", 1);
      ::_exit(0);
    }
  }).join();
  const std::string task = "/proc/self/task/" + std::to_string(thread_tid);
  bool survived = false;
  if (from_thread > 0 && wait_until([&] { return !std::filesystem::exists(task); }, 10s)) {
    (void)!::write(ping[1], "p", 1);
    pollfd in{pong[0], POLLIN, 0};
    char c = 0;
    survived = ::poll(&in, 1, 10000) == 1 && ::read(pong[0], &c, 1) == 1;
  }
  if (from_thread > 0) {
    ::kill(from_thread, SIGKILL);  // it has answered or failed; either way it is done
    ::waitpid(from_thread, nullptr, 0);
  }
  std::printf("%d %s\n", from_main, survived ? "thread-child-survived" : "thread-child-died");
  std::fflush(stdout);
  linger();
}

// Before gtest's main: is this the re-entered binary? (/proc/self/cmdline: argv, NUL-separated.)
[[maybe_unused]] const bool g_role_checked = [] {
  std::ifstream cmdline("/proc/self/cmdline");
  std::string argv0, argv1;
  std::getline(cmdline, argv0, '\0');
  std::getline(cmdline, argv1, '\0');
  if (argv1 == kRole) act_as_killed_test_binary();
  return true;
}();

// Redirects a standard descriptor into a temporary file for the lifetime of the object.
class Capture {
 public:
  explicit Capture(int fd) : fd_(fd) {
    std::fflush(nullptr);
    saved_ = ::dup(fd);
    std::FILE* tmp = std::tmpfile();
    file_ = ::dup(::fileno(tmp));
    std::fclose(tmp);
    ::dup2(file_, fd);
  }
  ~Capture() { restore(); }
  std::string restore() {
    if (saved_ >= 0) {
      std::fflush(nullptr);
      ::dup2(saved_, fd_);
      ::close(saved_);
      saved_ = -1;
      ::lseek(file_, 0, SEEK_SET);
      char buf[4096];
      ssize_t n;
      while ((n = ::read(file_, buf, sizeof buf)) > 0) text_.append(buf, static_cast<size_t>(n));
      ::close(file_);
    }
    return text_;
  }

 private:
  int fd_;
  int saved_ = -1;
  int file_ = -1;
  std::string text_;
};

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST_F(ProcessTest, ReturnGivesExitCodeZero) {
  mp::Process p([] {});
  EXPECT_EQ(p.pid(), 0);
  EXPECT_FALSE(p.exitcode());
  p.start();
  EXPECT_GT(p.pid(), 0);
  EXPECT_EQ(p.ident(), p.pid());
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(p.is_alive());
}

TEST_F(ProcessTest, StdExitGivesItsCode) {
  mp::Process p([] { std::exit(7); });
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 7);
}

TEST_F(ProcessTest, UncaughtExceptionPrintsAndGivesOne) {
  Capture err(2);
  mp::Process p([] { throw std::invalid_argument("bad input"); });
  p.set_name("thrower");
  p.start();
  ASSERT_TRUE(p.join(10s));
  std::string text = err.restore();
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(text.find("Process thrower:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("std::invalid_argument: bad input"), std::string::npos) << text;
}

TEST_F(ProcessTest, NonStandardExceptionIsNamed) {
  struct Custom {};
  Capture err(2);
  mp::Process p([] { throw Custom{}; });
  p.start();
  ASSERT_TRUE(p.join(10s));
  std::string text = err.restore();
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(text.find("Custom"), std::string::npos) << text;
}

TEST_F(ProcessTest, SignalsGiveNegativeCodes) {
  mp::Process term([] { std::this_thread::sleep_for(30s); });
  mp::Process kill([] { std::this_thread::sleep_for(30s); });
  mp::Process self([] { ::raise(SIGUSR1); });
  term.start();
  kill.start();
  self.start();
  term.terminate();
  kill.kill();
  ASSERT_TRUE(term.join(10s));
  ASSERT_TRUE(kill.join(10s));
  ASSERT_TRUE(self.join(10s));
  EXPECT_EQ(term.exitcode(), -SIGTERM);
  EXPECT_EQ(kill.exitcode(), -SIGKILL);
  EXPECT_EQ(self.exitcode(), -SIGUSR1);
}

TEST_F(ProcessTest, DefaultNamesCountUp) {
  mp::Process a([] {});
  mp::Process b([] {});
  auto ia = a.identity(), ib = b.identity();
  ASSERT_EQ(ia.size(), 1u);
  ASSERT_EQ(ib.size(), 1u);
  EXPECT_EQ(ib[0], ia[0] + 1);
  EXPECT_EQ(a.name(), "Process-" + std::to_string(ia[0]));
  EXPECT_EQ(mp::current_process().name(), "MainProcess");
  EXPECT_FALSE(mp::parent_process());
}

TEST_F(ProcessTest, ChildKnowsItselfAndItsParent) {
  const int parent_pid = ::getpid();
  mp::Process p([parent_pid] {
    auto me = mp::current_process();
    auto parent = mp::parent_process();
    bool ok = me.pid() == ::getpid() && me.name() == "named-child" && parent &&
              parent->pid() == parent_pid && parent->name() == "MainProcess" && parent->is_alive();
    // A grandchild is numbered under its parent: Process-<n>:1.
    mp::Process grandchild([] {});
    ok = ok && grandchild.name() == "Process-" + std::to_string(me.identity().at(0)) + ":1";
    std::exit(ok ? 0 : 1);
  });
  p.set_name("named-child");
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, BufferedOutputIsNotPrintedTwice) {
  Capture out(1);
  std::printf("before;");  // stays in stdio's buffer: stdout is a file now
  mp::Process p([] { std::printf("child;"); });
  p.start();
  ASSERT_TRUE(p.join(10s));
  std::printf("after;");
  EXPECT_EQ(out.restore(), "before;child;after;");
}

// tests/support arranges that the children a test binary forks from its main thread get SIGKILL
// when it dies (ctest kills a binary that times out; its children must not linger), and that a
// child forked from a short-lived thread is not killed when that thread ends.
TEST_F(ProcessTest, ChildrenOfAKilledTestBinaryDieWithIt) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  mp::testing::RunningCommand binary({self, kRole});
  std::istringstream report(binary.read_line(20s));
  int child = 0;
  std::string thread_child;
  ASSERT_TRUE(report >> child >> thread_child) << "the re-entered binary did not report";
  EXPECT_EQ(thread_child, "thread-child-survived")
      << "a child forked from a thread that ended was killed with the thread";
  ASSERT_FALSE(mp::testing::pid_gone(child));
  binary.kill(SIGKILL);
  EXPECT_EQ(binary.wait(10s), -SIGKILL);
  const bool gone = wait_until([&] { return mp::testing::pid_gone(child); }, 10s);
  EXPECT_TRUE(gone) << "child " << child << " outlived the killed test binary";
  if (!gone) ::kill(child, SIGKILL);
}

TEST_F(ProcessTest, NormalExitJoinsWorkersAndTerminatesDaemons) {
  auto r = mp::testing::run_command({MP_PROCESS_HELPER, "exit-with-children"}, 20s);
  ASSERT_FALSE(r.timed_out) << "exit hung on a daemonic child";
  EXPECT_EQ(r.exitcode, 0) << r.err;
  std::istringstream lines(r.out);
  std::string pid_line, main_line, worker_line, destructor_line;
  std::getline(lines, pid_line);
  std::getline(lines, main_line);
  std::getline(lines, worker_line);
  std::getline(lines, destructor_line);
  EXPECT_EQ(main_line, "main returns");
  EXPECT_EQ(worker_line, "worker done");  // joined before the exit went on
  EXPECT_EQ(destructor_line, "static destructor");
  EXPECT_TRUE(mp::testing::pid_gone(std::stoi(pid_line)));
}

TEST_F(ProcessTest, DaemonCannotHaveChildren) {
  mp::Process d([] {
    mp::Process inner([] {});
    try {
      inner.start();
    } catch (const mp::ProcessError&) {
      std::exit(42);
    }
    std::exit(1);
  });
  d.set_daemon(true);
  d.start();
  ASSERT_TRUE(d.join(10s));
  EXPECT_EQ(d.exitcode(), 42);
}

TEST_F(ProcessTest, FiveHundredStartsLeakNothing) {
  auto fds_before = mp::testing::open_fds();
  for (int i = 0; i < 500; ++i) {
    mp::Process p([] {});
    p.start();
    ASSERT_TRUE(p.join(10s));
    ASSERT_EQ(p.exitcode(), 0);
  }
  EXPECT_EQ(mp::testing::open_fds(), fds_before);
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);  // no child at all: no zombie
}

TEST_F(ProcessTest, TimedJoinIsBounded) {
  mp::Process p([] { std::this_thread::sleep_for(30s); });
  p.start();
  auto t0 = Clock::now();
  EXPECT_FALSE(p.join(100ms));
  auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 99ms);
  EXPECT_LT(waited, 100ms + 2s);  // generous: a loaded machine may not run us for a while
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.exitcode());
  p.terminate();
  EXPECT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST_F(ProcessTest, TerminateAfterExitIsHarmless) {
  mp::Process p([] {});
  p.start();
  ASSERT_TRUE(p.join(10s));
  p.terminate();
  p.kill();
  EXPECT_EQ(p.exitcode(), 0);
  p.close();
  p.close();
}

TEST_F(ProcessTest, MisuseThrows) {
  mp::Process p([] { std::this_thread::sleep_for(30s); });
  EXPECT_THROW(p.join(), mp::ProcessError);
  EXPECT_THROW(p.join(1ms), mp::ProcessError);
  EXPECT_THROW((void)p.sentinel(), mp::ValueError);
  p.start();
  EXPECT_THROW(p.start(), mp::ProcessError);
  EXPECT_THROW(p.close(), mp::ValueError);
  EXPECT_THROW(mp::current_process().join(), mp::ProcessError);
  EXPECT_THROW(p.set_daemon(true), mp::ProcessError);
  p.kill();
  ASSERT_TRUE(p.join(10s));
  p.close();
  EXPECT_THROW(p.start(), mp::ValueError);
  EXPECT_THROW((void)p.is_alive(), mp::ValueError);
}

TEST_F(ProcessTest, SentinelBecomesReadableAtExit) {
  mp::Event may_exit;
  mp::Process p([may_exit]() mutable { std::exit(may_exit.wait_for(30s) ? 0 : 1); });
  p.start();
  pollfd fd{p.sentinel(), POLLIN, 0};
  EXPECT_EQ(::poll(&fd, 1, 0), 0);  // the child cannot have ended: it waits for the event
  may_exit.set();
  EXPECT_EQ(::poll(&fd, 1, 10000), 1);
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, ActiveChildrenListsRunningOnesAndReaps) {
  mp::Process a([] { std::this_thread::sleep_for(30s); });
  mp::Process b([] {});
  a.start();
  b.start();
  auto deadline = Clock::now() + 10s;
  while (mp::active_children().size() != 1 && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  auto children = mp::active_children();
  ASSERT_EQ(children.size(), 1u);  // b ended and was reaped
  EXPECT_EQ(children[0], a);
  EXPECT_EQ(b.exitcode(), 0);
  a.terminate();
  ASSERT_TRUE(a.join(10s));
  EXPECT_TRUE(mp::active_children().empty());
}

// The warning is given once per process: the scenario runs in a child, a copy of this process
// that has not warned yet, so that the test holds under --gtest_repeat too.
TEST_F(ProcessTest, ThreadsAtStartWarnOnce) {
  mp::Process scenario([] {
    std::atomic<bool> stop{false};
    std::thread t([&] {
      while (!stop) std::this_thread::sleep_for(1ms);
    });
    Capture err(2);
    bool joined = true;
    for (int i = 0; i < 2; ++i) {
      mp::Process p([] {});
      p.start();
      joined = p.join(10s) && joined;
    }
    std::string text = err.restore();
    stop = true;
    t.join();
    const bool ok =
        joined && count(text, "mp: warning") == 1 && text.find("forkserver") != std::string::npos;
    if (!ok) std::fprintf(stderr, "warnings seen:\n%s", text.c_str());
    std::exit(ok ? 0 : 1);
  });
  scenario.start();
  ASSERT_TRUE(scenario.join(30s));
  EXPECT_EQ(scenario.exitcode(), 0) << "not exactly one warning naming forkserver (see above)";
}

TEST_F(ProcessTest, StartMethods) {
  EXPECT_EQ(mp::get_start_method(), mp::StartMethod::fork);
  auto ctx = mp::get_context(mp::StartMethod::fork);
  mp::Process p = ctx.Process([](int code) { std::exit(code); }, 5);
  EXPECT_EQ(p.start_method(), mp::StartMethod::fork);
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 5);

  mp::Process s = mp::get_context(mp::StartMethod::spawn).Process([] {});
  EXPECT_EQ(s.start_method(), mp::StartMethod::spawn);
  s.start();
  ASSERT_TRUE(s.join(10s));
  EXPECT_EQ(s.exitcode(), 0);
  mp::set_start_method(mp::StartMethod::spawn);
  EXPECT_EQ(mp::get_context().get_start_method(), mp::StartMethod::spawn);
  mp::set_start_method(mp::StartMethod::fork);
}

TEST_F(ProcessTest, ArgumentsAreCopied) {
  std::string name = "Alice";
  mp::Process p([](const std::string& n, int k) { std::exit(n == "Alice" && k == 3 ? 0 : 1); },
                name, 3);
  name = "Bob";
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, CpuCountIsPositive) {
  EXPECT_GE(mp::cpu_count(), 1);
}

}  // namespace

namespace {

// A child made by _Fork() runs no pthread_atfork handler, yet must know it is another process:
// with its parent's cached thread id it would take the parent's RLock hold as its own, and the
// parent the child's.
TEST_F(ProcessTest, AChildMadeWithoutForkHandlersHasIdsOfItsOwn) {
  mp::RLock lock;
  mp::Event held, done;
  ASSERT_TRUE(lock.acquire());  // this thread's ids are cached now
  lock.release();
  const pid_t child = ::_Fork();
  if (child == 0) {  // only what is async-signal-safe here: atomics and futexes
    const bool ok = lock.acquire(5s);
    held.set();
    (void)done.wait_for(30s);
    if (ok) lock.release();
    ::_exit(ok ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  EXPECT_TRUE(held.wait_for(30s));
  EXPECT_FALSE(lock.acquire(100ms)) << "the child's hold passed for this thread's own";
  done.set();
  int status = 0;
  pid_t reaped = 0;
  const auto until = Clock::now() + 30s;
  while ((reaped = ::waitpid(child, &status, WNOHANG)) == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(1ms);  // a bounded wait for the exit, not an ordering
  }
  if (reaped == 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    FAIL() << "the child hung";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not take the lock";
}

}  // namespace
