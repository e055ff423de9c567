// runtime/framing.hpp — how a Connection puts messages on a byte stream.
//
// Wire format: an 8-byte little-endian payload length, then the payload. No size ceiling beyond
// what the receiver allows: a receiver grows its buffer as bytes actually arrive, so a lying
// length costs it nothing but the wait for bytes that never come. A frame that carries
// descriptors (SCM_RIGHTS, attached to the first byte of its payload) has the top bit of its
// length set: messages without descriptors are sent and received exactly as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mp/detail/archive.hpp"
#include "sys/clock.hpp"
#include "sys/fd.hpp"

namespace mp::runtime {

inline constexpr std::size_t kFrameHeader = 8;
inline constexpr std::uint64_t kUnlimited = UINT64_MAX;
inline constexpr std::uint64_t kFrameHasFds = std::uint64_t{1} << 63;

// Throws std::system_error (EPIPE when the peer is gone); ValueError, before sending anything,
// for more descriptors than sys::kMaxPassedFds or descriptors on a socket that is not a Unix one.
void write_frame(int fd, std::span<const std::byte> payload, std::span<const int> fds = {});

// bad_descriptors: the frame was read whole (the stream is in step) but its descriptors were
// wrong: announced and absent, or more than sys::kMaxPassedFds. They are closed; the payload is
// in `out`, to be dropped. (Descriptors that come unannounced are closed by the kernel.)
enum class FrameStatus { ok, eof, timed_out, bad_descriptors };

// Reads one frame into `out`. eof: the peer closed before a frame began. Throws EOFError when
// the peer closed mid-frame, ProtocolError when the frame is longer than `max_size`,
// std::system_error on other failures. After ProtocolError the oversized payload is left unread
// and the stream is out of step: the caller must not read frames from it again (Connection
// stops receiving; handshakes drop the connection). On timed_out, a partly read frame is lost
// likewise: callers that time out mid-frame drop the connection (handshakes) or wait for
// readability first (recv).
//
// Descriptors that came with the frame go to `fds` when given, else are closed.
FrameStatus read_frame(int fd, std::vector<std::byte>& out, std::uint64_t max_size,
                       const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds = nullptr);

// The same, but a payload of `large_from` bytes or more goes into `large`, grown as its bytes
// arrive and told their number (finish) once the frame is read whole.
FrameStatus read_frame(int fd, std::vector<std::byte>& out, detail::EncodeSink& large,
                       std::uint64_t large_from, std::uint64_t max_size,
                       const sys::Deadline& deadline, std::vector<sys::UniqueFd>* fds = nullptr);

}  // namespace mp::runtime
