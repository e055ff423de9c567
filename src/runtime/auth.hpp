// runtime/auth.hpp — mutual authentication of a new connection with a shared key.
//
// Each side proves knowledge of the key without sending it: one side sends a random challenge,
// the other answers with HMAC-SHA256(key, challenge), and the first replies welcome or failure.
// Done in both directions (the server challenges first), as Python's multiprocessing does.
// Every handshake message is a frame of at most kMaxHandshake bytes, read with a deadline: a
// silent, slow, malformed or oversized peer fails the handshake and nothing else.
#pragma once

#include <span>

#include "sys/clock.hpp"

namespace mp::runtime {

inline constexpr std::size_t kMaxHandshake = 256;

// Throw AuthenticationError on a wrong answer, ProtocolError/EOFError on malformed input or a
// closed peer, TimeoutError past the deadline.
void deliver_challenge(int fd, std::span<const std::byte> key, const sys::Deadline& deadline);
void answer_challenge(int fd, std::span<const std::byte> key, const sys::Deadline& deadline);

}  // namespace mp::runtime
