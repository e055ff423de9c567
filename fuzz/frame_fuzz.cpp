// fuzz/frame_fuzz.cpp — libFuzzer target: arbitrary bytes from a peer, read as frames, then as
// the answers of a handshake. Reading must end in a value, EOFError, ProtocolError or
// AuthenticationError; never a crash, a hang or an allocation beyond the bytes received. A frame
// read is never longer than the limit nor than what was sent, and the challenging side of a
// handshake never accepts canned bytes.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mp/errors.hpp"
#include "runtime/auth.hpp"
#include "runtime/framing.hpp"
#include "sys/socket.hpp"

namespace {

// A socket whose peer has sent `data` and closed its sending side.
mp::sys::UniqueFd feed(const std::uint8_t* data, std::size_t size, mp::sys::UniqueFd& peer) {
  mp::sys::UniqueFd a;
  mp::sys::socket_pair(false, a, peer);
  if (size != 0) (void)::write(peer.get(), data, size);
  ::shutdown(peer.get(), SHUT_WR);
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  const auto deadline =
      sys::Deadline::after(std::chrono::nanoseconds(std::chrono::milliseconds(200)));
  {
    sys::UniqueFd peer;
    auto fd = feed(data, size, peer);
    std::vector<std::byte> out;
    constexpr std::uint64_t kMax = 1 << 16;
    std::size_t consumed = 0;
    try {
      while (runtime::read_frame(fd.get(), out, kMax, deadline) == runtime::FrameStatus::ok) {
        // A frame is exactly what its header announced, within the limit, and never more
        // than the bytes that were sent.
        if (out.size() > kMax) __builtin_trap();
        consumed += runtime::kFrameHeader + out.size();
        if (consumed > size) __builtin_trap();
      }
    } catch (const Error&) {
    }
  }
  const std::string_view key = "fuzz-key";
  std::span<const std::byte> k(reinterpret_cast<const std::byte*>(key.data()), key.size());
  for (int side = 0; side < 2; ++side) {
    sys::UniqueFd peer;
    auto fd = feed(data, size, peer);
    try {
      if (side == 0) {
        runtime::deliver_challenge(fd.get(), k, deadline);
        // The answer must be the HMAC of a fresh random challenge: canned bytes never pass.
        __builtin_trap();
      } else {
        runtime::answer_challenge(fd.get(), k, deadline);
      }
    } catch (const Error&) {
    } catch (const std::system_error&) {
    }
  }
  return 0;
}
