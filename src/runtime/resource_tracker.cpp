#include "runtime/resource_tracker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <string>

#include "sys/socket.hpp"

namespace mp::runtime {

namespace {

constexpr std::size_t kMaxMessage = 512;  // 'R' or 'U', then the name (at most 255 bytes)

std::mutex g_mutex;
int g_socket = -1;  // the sending end; forked children inherit it (close-on-exec)

[[noreturn]] void serve(int socket) {
  std::set<std::string> names;
  char buf[kMaxMessage];
  for (;;) {
    const ssize_t n = ::recv(socket, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every sender is gone
    const std::string name(buf + 1, static_cast<std::size_t>(n) - 1);
    if (buf[0] == 'R') {
      names.insert(name);
    } else if (buf[0] == 'U') {
      names.erase(name);
    }
  }
  for (const auto& name : names) ::shm_unlink(("/" + name).c_str());
  ::_exit(0);
}

// In the forked child: becomes the tracker's parent, which exits at once so that the tracker
// is reparented and never our zombie.
[[noreturn]] void launch(int socket) {
  if (::fork() != 0) ::_exit(0);
  ::setsid();
  if (::chdir("/") != 0) {  // not to hold a mount point busy
  }
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  // Keep nothing of the parent's open: a copy of a socket or pipe held here would keep its
  // peer from ever reading end of file.
  if (socket != 3) {
    ::dup2(socket, 3);
    socket = 3;
  }
  ::close_range(4, ~0U, 0);
  const int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  if (null > 3) ::close(null);
  serve(socket);
}

// One packet each, so senders in several processes never interleave.
void send_on(int socket, char kind, std::string_view name) noexcept {
  if (socket < 0 || name.empty() || name.size() >= kMaxMessage) return;
  char buf[kMaxMessage];
  buf[0] = kind;
  name.copy(buf + 1, name.size());
  ::send(socket, buf, name.size() + 1, MSG_NOSIGNAL);  // a dead tracker: nothing to do
}

void send(char kind, std::string_view name) noexcept {
  std::lock_guard lock(g_mutex);
  send_on(g_socket, kind, name);
}

}  // namespace

bool start_resource_tracker() noexcept {
  std::lock_guard lock(g_mutex);
  if (g_socket >= 0) return true;
  sys::UniqueFd mine, tracker;
  if (sys::socket_pair(true, mine, tracker) != 0) return false;
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    mine.reset();
    launch(tracker.release());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_socket = mine.release();
  return true;
}

void track_shm_name(std::string_view name) noexcept {
  if (start_resource_tracker()) send('R', name);
}

void untrack_shm_name(std::string_view name) noexcept {
  send('U', name);
}

int dup_tracker_socket() noexcept {
  if (!start_resource_tracker()) return -1;
  std::lock_guard lock(g_mutex);
  return ::fcntl(g_socket, F_DUPFD_CLOEXEC, 0);
}

void track_shm_name(int socket, std::string_view name) noexcept {
  send_on(socket, 'R', name);
}

void untrack_shm_name(int socket, std::string_view name) noexcept {
  send_on(socket, 'U', name);
}

}  // namespace mp::runtime
