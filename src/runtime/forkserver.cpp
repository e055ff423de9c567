// runtime/forkserver.cpp — the forkserver's loop: a re-executed copy of the program with one
// thread, which forks a child for each request and reports when each ends. Requests come on
// the control socket, one per start, with the child's socket attached (SCM_RIGHTS); the server
// writes the child's pid on it at once and its exit code once reaped. The server exits when the
// control socket closes (its parent is done or dead).
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <vector>

#include "runtime/boot.hpp"
#include "sys/child.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

namespace {

struct Child {
  int pid;
  sys::UniqueFd pidfd;
  sys::UniqueFd sock;
};

void reply(int sock, std::int32_t value) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(&value), sizeof value);
  sys::send_all(sock, bytes, {});  // a parent that has gone away needs no answer
}

}  // namespace

void serve_forkserver(int control) noexcept {
  const int self = sys::this_pid();
  // We end when the control socket does: when the program closes it, or dies (the kernel closes
  // it; its fork children closed their copies at fork). Not by a death signal, which would
  // follow the thread that started us rather than the program. Ctrl-C, which the program's
  // whole process group gets, is ignored: the program decides what happens to its children,
  // and needs us to report their ends.
  ::signal(SIGINT, SIG_IGN);
  std::vector<Child> children;
  std::vector<pollfd> fds;
  for (;;) {
    fds.assign(1, pollfd{control, POLLIN, 0});
    for (auto& c : children) fds.push_back(pollfd{c.pidfd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      sys::exit_now(1);
    }
    // Ended children first: their slots are reused by the starts below.
    for (std::size_t i = fds.size(); i-- > 1;) {
      if (fds[i].revents == 0) continue;
      Child& c = children[i - 1];
      int err = 0;
      const std::optional<int> code = sys::reap(c.pid, true, err);
      reply(c.sock.get(), code.value_or(255));
      children.erase(children.begin() + static_cast<std::ptrdiff_t>(i - 1));
    }
    if (fds[0].revents == 0) continue;
    std::uint64_t tag = 0;
    sys::UniqueFd sock;
    const int err = sys::recv_fd(control, false, tag, sock);
    if (err == EAGAIN || err == EINTR) continue;
    if (err != 0) sys::exit_now(0);  // EOF: our program is done
    const int pid = sys::fork_process();
    if (pid == 0) {
      ::signal(SIGINT, SIG_DFL);
      ::close(control);
      children.clear();  // closes the other children's descriptors
      run_boot_child(sock.release(), self);
    }
    if (pid < 0) {
      reply(sock.get(), -1);
      continue;
    }
    reply(sock.get(), pid);
    children.push_back(Child{pid, sys::pidfd_open(pid), std::move(sock)});
  }
}

}  // namespace mp::detail
