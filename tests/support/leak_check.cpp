#include "support/leak_check.hpp"

#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "mp/process.hpp"
#include "runtime/process_state.hpp"
#include "runtime/resource_tracker.hpp"

namespace mp::testing {

namespace {
std::set<std::string> list_dir(const char* path) {
  std::set<std::string> out;
  if (DIR* d = ::opendir(path)) {
    const std::string self = std::to_string(::dirfd(d));  // the listing's own descriptor
    const bool is_fd_dir = std::string(path) == "/proc/self/fd";
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || (is_fd_dir && name == self)) continue;
      out.insert(name);
    }
    ::closedir(d);
  }
  return out;
}

bool is_memfd_path(const std::string& path) {
  return path.rfind("/memfd:", 0) == 0;
}

// --- children die with the test binary -----------------------------------------------------
//
// The mechanism: a pthread_atfork pair. The prepare handler, run in the forking thread, notes
// whether that thread is the test binary's main thread; the child handler then sets
// PR_SET_PDEATHSIG to SIGKILL and checks that its parent is still the test binary (the test may
// have died between fork and prctl, when no signal would come), else dies at once. The setting
// survives execve, so helper programs run by run_command() and RunningCommand are covered too.
//
// Why only forks from the main thread: the kernel sends the death signal when the *thread* that
// forked the child exits, not the process. The main thread of a test binary lives until the
// binary ends, but a child forked from a test's std::thread, or from a Pool's or an executor's
// internal thread, would be killed as soon as that thread ended, and the test would see a death
// that the library did not cause. Such children are left alone (the library's daemonic children,
// which includes pool workers, already die with the thread that started them).
//
// Why only the test binary's own children: what a child's children do when their parent dies is
// behaviour under test (daemons dying with their parent, orphans, the resource tracker that must
// outlive a killed family to unlink its names). The prepare handler compares getpid() with the
// pid noted at start-up, so forks inside children are not touched; and PR_SET_PDEATHSIG is
// cleared in the child of every fork, so grandchildren never inherit it. When the test binary is
// killed, its children die, their daemonic children follow them, and the double-forked resource
// tracker (a grandchild in a session of its own) lives on to unlink the names, by design.
//
// Why not a process group or a subreaper: putting the test binary into a group of its own takes
// it out of the terminal's foreground group (Ctrl-C would no longer reach it); a subreaper would
// adopt every orphan, which the leak check would then report as a child nobody reaped.
pid_t g_test_pid = 0;
thread_local bool t_forking_from_main = false;

void before_fork() noexcept {
  t_forking_from_main =
      g_test_pid != 0 && ::getpid() == g_test_pid && ::syscall(SYS_gettid) == g_test_pid;
}

void in_parent() noexcept {
  t_forking_from_main = false;
}

void in_child() noexcept {
  if (!t_forking_from_main) return;
  t_forking_from_main = false;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != g_test_pid) ::raise(SIGKILL);  // the test binary is already gone
}

[[maybe_unused]] const bool g_children_die_with_test = (children_die_with_test(), true);

}  // namespace

void children_die_with_test() noexcept {
  static const bool registered = [] {
    g_test_pid = ::getpid();
    return ::pthread_atfork(before_fork, in_parent, in_child) == 0;
  }();
  (void)registered;
}

std::set<int> open_fds() {
  std::set<int> fds;
  for (const auto& name : list_dir("/proc/self/fd")) fds.insert(std::stoi(name));
  return fds;
}

std::set<std::string> shm_entries() {
  return list_dir("/dev/shm");
}

bool shm_entry_vanishes(const std::string& name) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (shm_entries().count(name) != 0) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::size_t memfd_fds() {
  std::size_t n = 0;
  for (int fd : open_fds()) {
    char target[256];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
    if (len > 0 && is_memfd_path(std::string(target, static_cast<std::size_t>(len)))) ++n;
  }
  return n;
}

std::size_t memfd_mappings() {
  std::ifstream maps("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(" /memfd:") != std::string::npos) ++n;
  }
  return n;
}

bool wait_until_asleep_in_futex(int pid, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  for (;;) {
    // "<nr> <arg0> <arg1> ...", or "running" while it runs; arg1 of futex(2) is the operation.
    std::ifstream in(path);
    std::string nr, arg0, arg1;
    if (in >> nr >> arg0 >> arg1 && nr == std::to_string(SYS_futex)) {
      const unsigned long op = std::stoul(arg1, nullptr, 16) & FUTEX_CMD_MASK;
      if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) return true;
    }
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void LeakCheckedTest::SetUp() {
  // The tracker's socket stays open for the life of the process, by design: open it before
  // counting, so that the first test to create a named block is not blamed for it.
  mp::runtime::start_resource_tracker();
  fds_ = open_fds();
  shm_ = shm_entries();
}

void LeakCheckedTest::TearDown() {
  // The forkserver a test started is a child and holds a socket: stopped here, so that each
  // test starts from the same state and the checks below see only what the test left.
  mp::detail::stop_forkserver();
  // Children still running are a leak: report them, then kill and reap them so that one failing
  // test does not hang or poison the next.
  auto children = mp::active_children();
  EXPECT_TRUE(children.empty()) << children.size() << " child process(es) left running";
  for (auto& c : children) {
    c.kill();
    c.join();
  }
  // Any other child, ours or a raw fork's, that nobody reaped.
  int status = 0;
  pid_t zombie = ::waitpid(-1, &status, WNOHANG);
  EXPECT_TRUE(zombie == -1 && errno == ECHILD)
      << "an unreaped or running child remains (waitpid returned " << zombie << ")";

  for (int fd : open_fds()) {
    EXPECT_TRUE(fds_.count(fd)) << "file descriptor " << fd << " leaked";
  }

  // Only this process's names ("mp-<pid>-..."): tests running beside this one make their own.
  const std::string mine = "mp-" + std::to_string(::getpid()) + "-";
  for (const auto& name : shm_entries()) {
    if (name.rfind(mine, 0) == 0) {
      EXPECT_TRUE(shm_.count(name)) << "/dev/shm/" << name << " left behind";
    }
  }
}

}  // namespace mp::testing
