#include "runtime/framing.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "mp/errors.hpp"
#include "sys/socket.hpp"

namespace mp::runtime {

namespace {
constexpr std::size_t kGrowStep = std::size_t{1} << 20;
}

void write_frame(int fd, std::span<const std::byte> payload, std::span<const int> fds) {
  if (fds.size() > sys::kMaxPassedFds) {
    throw ValueError("a message can carry the descriptors of at most " +
                     std::to_string(sys::kMaxPassedFds) + " shared objects; this one needs " +
                     std::to_string(fds.size()));
  }
  std::uint64_t len = payload.size() | (fds.empty() ? 0 : kFrameHasFds);
  std::byte header[kFrameHeader];
  std::memcpy(header, &len, sizeof len);  // little-endian hosts only (x86-64, aarch64)
  if (!fds.empty() && payload.empty()) throw ValueError("descriptors need a non-empty message");
  if (!fds.empty() && !sys::is_unix_socket(fd)) {
    throw ValueError(
        "shared objects can be sent only over a Unix socket (a Pipe, or a Listener "
        "on a filesystem path), not over TCP");
  }
  // Descriptors ride on the payload's first byte, in a send of its own, not on the header: the
  // receiver reads every header with plain recv() (as fast as before) and only a payload whose
  // header announced descriptors with recvmsg().
  int err = fds.empty() ? sys::send_all(fd, header, payload) : sys::send_all(fd, header, {});
  if (err == 0 && !fds.empty()) err = sys::send_with_fds(fd, payload, fds);
  if (err != 0) {
    // A peer that closed with our bytes still unread resets the connection instead: to the
    // sender it is the same closed peer (connection.hpp promises EPIPE).
    if (err == ECONNRESET) err = EPIPE;
    throw std::system_error(
        err, std::generic_category(),
        err == EPIPE ? "send: the other end of the connection is closed" : "send");
  }
}

namespace {
// Grows a vector exactly as asked (read_frame grows it by what arrives).
class FrameVector final : public detail::EncodeSink {
 public:
  explicit FrameVector(std::vector<std::byte>& out) : out_(out) {}
  std::span<std::byte> grow(std::size_t, std::size_t need) override {
    out_.resize(need);
    return out_;
  }
  void finish(std::size_t used) noexcept override { out_.resize(used); }

 private:
  std::vector<std::byte>& out_;
};

FrameStatus read_frame_into(int fd, std::vector<std::byte>& small, detail::EncodeSink* large,
                            std::uint64_t large_from, std::uint64_t max_size,
                            const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds);
}  // namespace

FrameStatus read_frame(int fd, std::vector<std::byte>& out, std::uint64_t max_size,
                       const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds) {
  return read_frame_into(fd, out, nullptr, 0, max_size, deadline, fds);
}

FrameStatus read_frame(int fd, std::vector<std::byte>& out, detail::EncodeSink& large,
                       std::uint64_t large_from, std::uint64_t max_size,
                       const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds) {
  return read_frame_into(fd, out, &large, large_from, max_size, deadline, fds);
}

namespace {
FrameStatus read_frame_into(int fd, std::vector<std::byte>& small, detail::EncodeSink* large,
                            std::uint64_t large_from, std::uint64_t max_size,
                            const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds) {
  std::byte header[kFrameHeader];
  std::size_t got = 0;
  int err = sys::recv_exact(fd, header, got, deadline);
  if (err == ETIMEDOUT) return FrameStatus::timed_out;
  if (err != 0) {
    if (err == ECONNRESET) return FrameStatus::eof;
    throw std::system_error(err, std::generic_category(), "recv");
  }
  if (got == 0) return FrameStatus::eof;
  if (got < kFrameHeader) throw EOFError("connection closed in the middle of a message");
  std::uint64_t len = 0;
  std::memcpy(&len, header, sizeof len);
  const bool has_fds = (len & kFrameHasFds) != 0;
  len &= ~kFrameHasFds;
  if (len > max_size) {
    throw ProtocolError("message of " + std::to_string(len) + " bytes exceeds the limit of " +
                        std::to_string(max_size));
  }
  // Descriptors come with the payload's first byte: read with recvmsg when announced. Any that
  // came unannounced were closed by the kernel, read by plain recv().
  std::vector<sys::UniqueFd> local_fds;
  std::vector<sys::UniqueFd>& received = fds != nullptr ? *fds : local_fds;
  received.clear();
  bool truncated = false;
  small.clear();
  FrameVector small_sink(small);
  detail::EncodeSink& out = large != nullptr && len >= large_from ? *large : small_sink;
  std::span<std::byte> room;
  std::size_t have = 0;
  while (have < len) {
    // Grow with what arrives, not with what the header promises.
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - have, kGrowStep));
    if (room.size() < have + want) room = out.grow(have, have + want);
    std::size_t n = 0;
    auto into = room.subspan(have, want);
    err = has_fds ? sys::recv_exact_with_fds(fd, into, n, received, truncated, deadline)
                  : sys::recv_exact(fd, into, n, deadline);
    have += n;
    if (err == ETIMEDOUT) return FrameStatus::timed_out;
    if (err != 0 && err != ECONNRESET)
      throw std::system_error(err, std::generic_category(), "recv");
    if (n < want) throw EOFError("connection closed in the middle of a message");
  }
  out.finish(have);
  if (truncated || (has_fds && received.empty())) {
    received.clear();
    return FrameStatus::bad_descriptors;
  }
  return FrameStatus::ok;
}
}  // namespace

}  // namespace mp::runtime
