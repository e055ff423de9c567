#include "runtime/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include "mp/errors.hpp"
#include "runtime/framing.hpp"
#include "sys/memory.hpp"

namespace mp::runtime {

namespace {

constexpr std::string_view kChallenge = "#MP-CHALLENGE#";
constexpr std::string_view kWelcome = "#MP-WELCOME#";
constexpr std::string_view kFailure = "#MP-FAILURE#";
constexpr std::size_t kNonce = 32;

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

bool equals(const std::vector<std::byte>& a, std::span<const std::byte> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::vector<std::byte> hmac(std::span<const std::byte> key, std::span<const std::byte> message) {
  std::vector<std::byte> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr) {
    throw AuthenticationError("HMAC computation failed");
  }
  out.resize(len);
  return out;
}

std::vector<std::byte> read_small(int fd, const sys::Deadline& deadline) {
  std::vector<std::byte> msg;
  switch (read_frame(fd, msg, kMaxHandshake, deadline)) {
    case FrameStatus::ok:
      return msg;
    case FrameStatus::eof:
      throw EOFError("peer closed the connection during authentication");
    case FrameStatus::timed_out:
      throw TimeoutError("authentication timed out");
    case FrameStatus::bad_descriptors:
      throw ProtocolError("a handshake message carried descriptors");
  }
  return msg;
}

}  // namespace

void deliver_challenge(int fd, std::span<const std::byte> key, const sys::Deadline& deadline) {
  std::vector<std::byte> challenge(bytes(kChallenge).begin(), bytes(kChallenge).end());
  challenge.resize(kChallenge.size() + kNonce);
  if (!sys::random_bytes(challenge.data() + kChallenge.size(), kNonce)) {
    throw AuthenticationError("no random bytes for the challenge");
  }
  write_frame(fd, challenge);
  auto answer = read_small(fd, deadline);
  if (!equals(answer, hmac(key, challenge))) {
    try {
      write_frame(fd, bytes(kFailure));
    } catch (const std::system_error&) {
      // The peer is gone already; the wrong digest is still the error to report.
    }
    throw AuthenticationError("digest received was wrong");
  }
  write_frame(fd, bytes(kWelcome));
}

void answer_challenge(int fd, std::span<const std::byte> key, const sys::Deadline& deadline) {
  auto challenge = read_small(fd, deadline);
  if (challenge.size() != kChallenge.size() + kNonce ||
      std::memcmp(challenge.data(), kChallenge.data(), kChallenge.size()) != 0) {
    throw ProtocolError("malformed authentication challenge");
  }
  write_frame(fd, hmac(key, challenge));
  auto verdict = read_small(fd, deadline);
  if (!equals(verdict, bytes(kWelcome))) throw AuthenticationError("digest sent was rejected");
}

}  // namespace mp::runtime
