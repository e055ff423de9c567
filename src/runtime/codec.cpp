#include <algorithm>
#include <string>

#include "mp/codec.hpp"
#include "mp/detail/queue_core.hpp"
#include "sys/memory.hpp"

namespace mp::detail {

std::vector<std::byte>& encode_buffer() {
  // initial-exec: no __tls_get_addr call on every send (see sys/thread_id.hpp).
  thread_local std::vector<std::byte> buffer __attribute__((tls_model("initial-exec")));
  return buffer;
}

void release_encode_buffer() noexcept {
  std::vector<std::byte>().swap(encode_buffer());
}

std::span<std::byte> VectorSink::grow(std::size_t used, std::size_t need) {
  constexpr std::size_t kFirst = 256;  // one grow covers most small messages
  const std::size_t want = std::max({need, 2 * used, kFirst});
  reserve_large(*out_, want);
  out_->resize(want);
  return *out_;
}

void OutputArchive::grow(std::size_t size) {
  const std::span<std::byte> room = sink_->grow(size_, size_ + size);
  data_ = room.data();
  room_ = room.size();
}

void release_read_pages(const std::byte* data, std::size_t size) noexcept {
  sys::release_pages(data, size);
}

void prepare_read_pages(const std::byte* data, std::size_t size) noexcept {
  sys::populate_pages(data, size);
}

void prepare_large_buffer(void* p, std::size_t size) noexcept {
  sys::advise_huge_pages(p, size);
}

void throw_wrong_type() {
  throw ProtocolError("message holds a value of another type than the one asked for");
}

void throw_bad_message(const char* what) {
  throw ProtocolError(std::string("malformed message: ") + what);
}

}  // namespace mp::detail
