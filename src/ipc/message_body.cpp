#include "ipc/message_body.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace mp::detail {

namespace {

constexpr std::size_t kMaxSpares = 2;  // per producer process and queue
constexpr std::size_t kMaxViews = 2;   // per consumer process and queue

[[noreturn]] void fail(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace

Body::Body(Body&& o) noexcept : map_(std::move(o.map_)) {
  o.map_.addr = nullptr;
  o.map_.size = 0;
}

Body& Body::operator=(Body&& o) noexcept {
  sys::unmap(map_);
  map_ = std::move(o.map_);
  o.map_.addr = nullptr;
  o.map_.size = 0;
  return *this;
}

Body::~Body() {
  sys::unmap(map_);
}

void Body::reserve(std::size_t size) {
  const std::size_t need = kBodyHeader + size;
  if (map_.addr == nullptr) {
    if (int err = sys::map_anonymous(need, map_); err != 0)
      fail(err, "queue: a large message's body");
  } else if (map_.size < need) {
    if (int err = sys::resize_anonymous(map_, need); err != 0) {
      fail(err, "queue: growing a large message's body");
    }
  }
}

Body BodyPool::claim(std::size_t size) {
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
  try {
    body.reserve(size);
  } catch (...) {
    if (body) give_back(std::move(body));
    throw;
  }
  body.header().state.store(BodyHeader::claimed, std::memory_order_relaxed);  // a new one: 0
  return body;
}

Body BodyPool::fill(std::span<const std::byte> bytes) {
  Body body = claim(bytes.size());
  if (!bytes.empty()) std::memcpy(body.bytes().data(), bytes.data(), bytes.size());
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
  for (auto& v : views_) sys::unmap_file(v.map, v.size);
}

std::span<const std::byte> BodyViews::open(int fd, std::size_t size, bool populate) {
  sys::FileInfo file;
  if (int err = sys::file_info(fd, file); err != 0) fail(err, "fstat");
  const std::size_t need = kBodyHeader + size;
  if (file.size < need) fail(EPROTO, "queue: a large message's body is shorter than announced");
  for (auto it = views_.begin(); it != views_.end(); ++it) {
    if (it->dev != file.dev || it->ino != file.ino) continue;
    View v = *it;
    views_.erase(it);
    if (v.size < need) {  // the producer grew the body
      sys::unmap_file(v.map, v.size);
      break;
    }
    views_.push_back(v);
    return {v.map + kBodyHeader, size};
  }
  void* m = nullptr;
  if (int err = sys::map_file(fd, need, populate, m); err != 0) fail(err, "mmap");
  if (views_.size() == kMaxViews) {
    sys::unmap_file(views_.front().map, views_.front().size);
    views_.erase(views_.begin());
  }
  views_.push_back({file.dev, file.ino, static_cast<std::byte*>(m), need});
  return {views_.back().map + kBodyHeader, size};
}

void BodyViews::release(std::span<const std::byte> message) noexcept {
  auto* header =
      reinterpret_cast<BodyHeader*>(const_cast<std::byte*>(message.data()) - kBodyHeader);
  header->state.store(BodyHeader::free, std::memory_order_release);
}

}  // namespace mp::detail
