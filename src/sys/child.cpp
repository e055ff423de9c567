#include "sys/child.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio_ext.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mp::sys {

int fork_process() noexcept {
  pid_t pid = ::fork();
  return pid < 0 ? -errno : static_cast<int>(pid);
}

int spawn_program(const char* path, char* const argv[], char* const envp[], int pass_fd, int as_fd,
                  int& pid) noexcept {
  // dup2 onto itself would keep close-on-exec set: move the descriptor out of the way first.
  UniqueFd moved;
  if (pass_fd == as_fd) {
    moved.reset(::fcntl(pass_fd, F_DUPFD_CLOEXEC, as_fd + 1));
    if (!moved) return errno;
    pass_fd = moved.get();
  }
  posix_spawn_file_actions_t actions;
  if (int err = ::posix_spawn_file_actions_init(&actions); err != 0) return err;
  int err = ::posix_spawn_file_actions_adddup2(&actions, pass_fd, as_fd);
  if (err == 0) err = ::posix_spawn_file_actions_addclosefrom_np(&actions, as_fd + 1);
  pid_t child = 0;
  if (err == 0) err = ::posix_spawn(&child, path, &actions, nullptr, argv, envp);
  ::posix_spawn_file_actions_destroy(&actions);
  if (err == 0) pid = static_cast<int>(child);
  return err;
}

std::string program_name() {
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return {};
  buf[n] = '\0';
  return std::string(buf);
}

UniqueFd pidfd_open(int pid) noexcept {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

int send_signal(int pidfd, int pid, int sig) noexcept {
  long rc =
      pidfd >= 0 ? ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) : ::kill(pid, sig);
  return rc == 0 ? 0 : errno;
}

std::optional<int> reap(int pid, bool block, int& err) noexcept {
  err = 0;
  for (;;) {
    int status = 0;
    pid_t rc = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (rc == 0) return std::nullopt;
    if (rc < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return std::nullopt;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    if (!block) return std::nullopt;  // stopped or continued: still running
  }
}

bool die_with_parent(int parent_pid) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // If the parent died before the prctl, we were re-parented and no signal will come.
  return ::getppid() == parent_pid;
}

void keep_after_parent() noexcept {
  ::prctl(PR_SET_PDEATHSIG, 0);
}

int thread_count() noexcept {
  // Called at every start(). glibc keeps a flag that stays set until the first thread is
  // created: most programs never pay for reading /proc.
  if (__libc_single_threaded) return 1;
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  // After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads(20): skip 17 fields after the state.
  int field = 2;
  for (++p; *p != '\0'; ++p) {
    if (*p == ' ' && ++field == 20) return std::atoi(p + 1);
  }
  return 0;
}

int online_cpus() noexcept {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

int usable_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return online_cpus();
  const int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

namespace {
// Functions that a fork child calls and its parent never does. Called through pointers taken at
// load time, they are bound eagerly; called directly, every child would bind them lazily through
// the dynamic linker, a cost of tens of microseconds in page faults on each start.
void (*volatile g_exit)(int) = ::_exit;
int (*volatile g_on_exit)(void (*)(int, void*), void*) = ::on_exit;
size_t (*volatile g_fpending)(FILE*) = ::__fpending;
}  // namespace

void exit_now(int code) noexcept {
  g_exit(code);
  __builtin_unreachable();
}

void on_exit_first(void (*hook)(int, void*)) noexcept {
  g_on_exit(hook, nullptr);
}

void flush_stdio(bool all_streams) noexcept {
  if (all_streams) {
    std::fflush(nullptr);
    return;
  }
  if (g_fpending(stdout) != 0) std::fflush(stdout);
  if (g_fpending(stderr) != 0) std::fflush(stderr);
}

}  // namespace mp::sys
