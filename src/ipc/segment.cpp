#include "mp/detail/segment.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "mp/errors.hpp"
#include "sys/memory.hpp"

namespace mp::detail {

std::shared_ptr<Segment> Segment::create(std::size_t size) {
  sys::Mapping m;
  if (int err = sys::map_anonymous(size, m); err != 0) {
    throw std::system_error(err, std::generic_category(), "shared memory");
  }
  auto* data = static_cast<std::byte*>(m.addr);
  const int fd = m.fd.release();
  return std::shared_ptr<Segment>(new Segment(data, m.size, fd));
}

std::shared_ptr<Segment> Segment::attach(int fd) {
  sys::Mapping m;
  if (int err = sys::map_passed(fd, m); err != 0) {
    if (err == EINVAL || err == EBADF)
      throw ProtocolError("a descriptor passed as shared memory is not shared memory");
    throw std::system_error(err, std::generic_category(), "mapping passed shared memory");
  }
  auto* data = static_cast<std::byte*>(m.addr);
  const std::size_t size = m.size;
  const int own = m.fd.release();
  return std::shared_ptr<Segment>(new Segment(data, size, own));
}

Segment::~Segment() {
  sys::Mapping m;
  m.fd.reset(fd_);
  m.addr = data_;
  m.size = size_;
  sys::unmap(m);
}

}  // namespace mp::detail
