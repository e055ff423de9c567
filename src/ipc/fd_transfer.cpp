// ipc/fd_transfer.cpp — the per-thread descriptor scopes of detail/fd_transfer.hpp, and the
// wire form of a place in shared memory.
#include "mp/detail/fd_transfer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include "mp/detail/archive.hpp"
#include "mp/errors.hpp"
#include "sys/fd.hpp"
#include "sys/socket.hpp"

namespace mp::detail {

namespace {
thread_local FdOutbox* t_outbox = nullptr;
thread_local FdInbox* t_inbox = nullptr;
}  // namespace

FdOutbox::FdOutbox() noexcept : outer_(t_outbox) {
  t_outbox = this;
}
FdOutbox::~FdOutbox() {
  t_outbox = outer_;
}

FdInbox::FdInbox(std::span<const int> fds) noexcept : outer_(t_inbox), fds_(fds) {
  t_inbox = this;
}
FdInbox::~FdInbox() {
  t_inbox = outer_;
}

void ReceivedFds::adopt(int fd) {
  try {
    fds_.push_back(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

void ReceivedFds::clear() noexcept {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

std::uint32_t pass_fd(int fd, const char* type) {
  FdOutbox* box = t_outbox;
  if (box == nullptr) {
    throw ValueError(std::string(type) +
                     " can be passed to another process only as an argument of a starting "
                     "Process or sent over a Connection (its descriptor cannot travel here)");
  }
  if (fd < 0) throw ValueError(std::string("a closed ") + type + " cannot be passed");
  auto& fds = box->fds_;
  auto it = std::find(fds.begin(), fds.end(), fd);
  if (it != fds.end()) return static_cast<std::uint32_t>(it - fds.begin());
  fds.push_back(fd);
  return static_cast<std::uint32_t>(fds.size() - 1);
}

int take_fd(std::uint32_t index) {
  FdInbox* box = t_inbox;
  if (box == nullptr) throw ProtocolError("a handle arrived without its descriptors");
  if (index >= box->fds_.size()) {
    throw ProtocolError("a handle names descriptor " + std::to_string(index) + " of " +
                        std::to_string(box->fds_.size()) + " received");
  }
  int fd = ::fcntl(box->fds_[index], F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == EBADF) throw ProtocolError("a handle names a closed descriptor");
    throw std::system_error(errno, std::generic_category(), "duplicating a passed descriptor");
  }
  return fd;
}

int take_socket(std::uint32_t index) {
  sys::UniqueFd fd(take_fd(index));
  if (!sys::is_socket(fd.get())) throw ProtocolError("a descriptor passed as a socket is not one");
  return fd.release();
}

std::shared_ptr<Segment> take_segment(std::uint32_t index) {
  FdInbox* box = t_inbox;
  if (box == nullptr) throw ProtocolError("a handle arrived without its descriptors");
  if (index >= box->fds_.size()) {
    throw ProtocolError("a handle names descriptor " + std::to_string(index) + " of " +
                        std::to_string(box->fds_.size()) + " received");
  }
  if (box->segments_.size() <= index) box->segments_.resize(box->fds_.size());
  auto& seg = box->segments_[index];
  if (!seg) seg = Segment::attach(box->fds_[index]);
  return seg;
}

void throw_wrong_state_size() {
  throw ProtocolError("a handle's shared state has the wrong size");
}

void save_shared(OutputArchive& ar, const std::shared_ptr<Segment>& segment, const void* at,
                 std::size_t size, const char* type) {
  if (!segment) throw ValueError(std::string("a moved-from ") + type + " cannot be passed");
  const std::uint32_t index = pass_fd(segment->fd(), type);
  const auto offset =
      static_cast<std::uint64_t>(static_cast<const std::byte*>(at) - segment->data());
  ar(index, offset, static_cast<std::uint64_t>(size));
}

SharedPlace load_shared(InputArchive& ar, std::size_t align, std::size_t unit,
                        std::size_t required_offset) {
  std::uint32_t index = 0;
  std::uint64_t offset = 0, size = 0;
  ar(index, offset, size);
  if (required_offset != SIZE_MAX && offset != required_offset) {
    throw ProtocolError("a handle's shared state is not where its type puts it");
  }
  if (unit != 0 && size % unit != 0) throw ProtocolError("a handle's shared state has a bad size");
  SharedPlace p;
  p.segment = take_segment(index);
  const std::uint64_t mapped = p.segment->size();
  if (offset > mapped || size > mapped - offset) {
    throw ProtocolError("a handle's shared state lies outside its shared memory");
  }
  p.at = p.segment->data() + offset;
  if (reinterpret_cast<std::uintptr_t>(p.at) % align != 0) {
    throw ProtocolError("a handle's shared state is misaligned");
  }
  p.size = static_cast<std::size_t>(size);
  return p;
}

}  // namespace mp::detail
