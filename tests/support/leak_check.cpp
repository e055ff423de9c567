#include "support/leak_check.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "mp/process.hpp"
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
}  // namespace

std::set<int> open_fds() {
  std::set<int> fds;
  for (const auto& name : list_dir("/proc/self/fd")) fds.insert(std::stoi(name));
  return fds;
}

std::set<std::string> shm_entries() {
  return list_dir("/dev/shm");
}

void LeakCheckedTest::SetUp() {
  // The tracker's socket stays open for the life of the process, by design: open it before
  // counting, so that the first test to create a named block is not blamed for it.
  mp::runtime::start_resource_tracker();
  fds_ = open_fds();
  shm_ = shm_entries();
}

void LeakCheckedTest::TearDown() {
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
