#include "ipc/message_body.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace mp::detail {

namespace {

constexpr std::size_t kMaxSpares = 2;  // per producer process and queue
constexpr std::size_t kMaxViews = 2;   // per consumer process and queue

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

Body::Body(Body&& o) noexcept
    : fd_(std::move(o.fd_)), map_(std::exchange(o.map_, nullptr)), size_(o.size_) {}

Body& Body::operator=(Body&& o) noexcept {
  unmap();
  fd_ = std::move(o.fd_);
  map_ = std::exchange(o.map_, nullptr);
  size_ = o.size_;
  return *this;
}

Body::~Body() {
  unmap();
}

void Body::unmap() noexcept {
  if (map_ != nullptr) ::munmap(map_, size_);
  map_ = nullptr;
}

Body BodyPool::fill(std::span<const std::byte> bytes) {
  Body body;
  {
    std::lock_guard lock(mutex_);
    for (auto it = spares_.begin(); it != spares_.end(); ++it) {
      std::uint32_t expected = BodyHeader::free;
      if (it->header().state.compare_exchange_strong(expected, BodyHeader::claimed)) {
        body = std::move(*it);
        spares_.erase(it);
        break;
      }
    }
  }
  const std::size_t need = kBodyHeader + bytes.size();
  if (!body.fd_) {
    body.fd_.reset(::memfd_create("mp-queue-message", MFD_CLOEXEC));
    if (!body.fd_) fail("memfd_create");
  }
  if (body.size_ < need) {
    body.unmap();
    if (::ftruncate(body.fd_.get(), static_cast<off_t>(need)) != 0) fail("ftruncate");
    void* m = ::mmap(nullptr, need, PROT_READ | PROT_WRITE, MAP_SHARED, body.fd_.get(), 0);
    if (m == MAP_FAILED) fail("mmap");
    body.map_ = static_cast<std::byte*>(m);
    body.size_ = need;
  }
  if (!bytes.empty()) std::memcpy(body.map_ + kBodyHeader, bytes.data(), bytes.size());
  body.header().state.store(BodyHeader::in_flight, std::memory_order_release);
  return body;
}

void BodyPool::keep(Body body) {
  std::lock_guard lock(mutex_);
  if (spares_.size() == kMaxSpares) spares_.erase(spares_.begin());
  spares_.push_back(std::move(body));
}

void BodyPool::give_back(Body body) {
  body.header().state.store(BodyHeader::free, std::memory_order_release);
  keep(std::move(body));
}

BodyViews::~BodyViews() {
  for (auto& v : views_) ::munmap(v.map, v.size);
}

std::span<const std::byte> BodyViews::open(int fd, std::size_t size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("fstat");
  const std::size_t need = kBodyHeader + size;
  if (static_cast<std::uint64_t>(st.st_size) < need) {
    errno = EPROTO;
    fail("queue: a large message's body is shorter than announced");
  }
  const auto dev = static_cast<std::uint64_t>(st.st_dev);
  const auto ino = static_cast<std::uint64_t>(st.st_ino);
  for (auto it = views_.begin(); it != views_.end(); ++it) {
    if (it->dev != dev || it->ino != ino) continue;
    View v = *it;
    views_.erase(it);
    if (v.size < need) {  // the producer grew the body
      ::munmap(v.map, v.size);
      break;
    }
    views_.push_back(v);
    return {v.map + kBodyHeader, size};
  }
  void* m = ::mmap(nullptr, need, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) fail("mmap");
  if (views_.size() == kMaxViews) {
    ::munmap(views_.front().map, views_.front().size);
    views_.erase(views_.begin());
  }
  views_.push_back({dev, ino, static_cast<std::byte*>(m), need});
  return {views_.back().map + kBodyHeader, size};
}

void BodyViews::release(std::span<const std::byte> message) noexcept {
  auto* header =
      reinterpret_cast<BodyHeader*>(const_cast<std::byte*>(message.data()) - kBodyHeader);
  header->state.store(BodyHeader::free, std::memory_order_release);
}

}  // namespace mp::detail
