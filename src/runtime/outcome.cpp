#include "runtime/outcome.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "mp/errors.hpp"

namespace mp::runtime {

namespace {

struct Header {
  std::uint32_t ok;
  std::uint32_t type_size;
  std::uint32_t what_size;
  std::uint32_t reserved;
};

void append_bytes(std::vector<std::byte>& out, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::byte*>(data);
  out.insert(out.end(), p, p + size);
}

}  // namespace

void append_outcome(std::vector<std::byte>& out, const ExceptionInfo* error,
                    std::span<const std::byte> result) {
  const Header h{error == nullptr ? 1u : 0u,
                 error ? static_cast<std::uint32_t>(error->type.size()) : 0u,
                 error ? static_cast<std::uint32_t>(error->what.size()) : 0u, 0};
  append_bytes(out, &h, sizeof h);
  if (error != nullptr) {
    append_bytes(out, error->type.data(), error->type.size());
    append_bytes(out, error->what.data(), error->what.size());
  } else {
    out.insert(out.end(), result.begin(), result.end());
  }
}

void append_success_header(std::vector<std::byte>& out) {
  append_outcome(out, nullptr, {});
}

Outcome read_outcome(std::span<const std::byte> bytes) {
  Header h{};
  if (bytes.size() < sizeof h) throw ProtocolError("malformed call outcome");
  std::memcpy(&h, bytes.data(), sizeof h);
  const std::size_t texts = std::size_t{h.type_size} + h.what_size;
  if (bytes.size() - sizeof h < texts) throw ProtocolError("malformed call outcome");
  if (h.ok != 0) return {bytes.subspan(sizeof h + texts), nullptr};
  const char* text = reinterpret_cast<const char*>(bytes.data() + sizeof h);
  return {{},
          rebuild_exception(
              {std::string(text, h.type_size), std::string(text + h.type_size, h.what_size)})};
}

}  // namespace mp::runtime
