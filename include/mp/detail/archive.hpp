// mp/detail/archive.hpp — the cereal archives behind mp's codec.
//
// A binary layout like cereal's BinaryArchive, written to and read from contiguous memory, with
// the checks a decoder of untrusted bytes needs: every read is bounds-checked, a length prefix
// may not promise more elements than bytes are left (so no container allocates more than the
// message could hold), a bool must be 0 or 1, and nesting depth is capped against stack
// exhaustion by recursive user types.
#pragma once

#include <cereal/cereal.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "mp/errors.hpp"

namespace mp::detail {

// Buffers at least this large are asked to be backed by huge pages before their first write:
// faulting a fresh 100 MB buffer in 4 KiB at a time costs several times more than copying into it.
inline constexpr std::size_t kLargeBuffer = std::size_t{4} << 20;

// A hint to the kernel (transparent huge pages for [p, p + size)); never fails.
void prepare_large_buffer(void* p, std::size_t size) noexcept;

// Makes room for `n` elements; a large, fresh buffer gets prepare_large_buffer first.
template <class Container>
void reserve_large(Container& c, std::size_t n) {
  using V = typename Container::value_type;
  if (n > c.capacity() && n * sizeof(V) >= kLargeBuffer) {
    c.reserve(n);
    prepare_large_buffer(c.data(), c.capacity() * sizeof(V));
  }
}

class OutputArchive : public cereal::OutputArchive<OutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit OutputArchive(std::vector<std::byte>& out)
      : cereal::OutputArchive<OutputArchive, cereal::AllowEmptyClassElision>(this), out_(out) {}

  void saveBinary(const void* data, std::size_t size) {
    if (size == 0) return;
    const std::size_t at = out_.size();
    if (at + size > out_.capacity()) reserve_large(out_, std::max(at + size, 2 * at));
    out_.resize(at + size);
    std::memcpy(out_.data() + at, data, size);
  }

 private:
  std::vector<std::byte>& out_;
};

class InputArchive : public cereal::InputArchive<InputArchive, cereal::AllowEmptyClassElision> {
 public:
  static constexpr int kMaxDepth = 256;

  explicit InputArchive(std::span<const std::byte> in)
      : cereal::InputArchive<InputArchive, cereal::AllowEmptyClassElision>(this), in_(in) {}

  void loadBinary(void* data, std::size_t size) {
    if (size > in_.size() - pos_) throw ProtocolError("truncated message");
    if (size != 0) std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }
  std::size_t remaining() const noexcept { return in_.size() - pos_; }
  // The next `size` bytes, in place; bounds-checked.
  const std::byte* take(std::size_t size) {
    if (size > in_.size() - pos_) throw ProtocolError("truncated message");
    const std::byte* p = in_.data() + pos_;
    pos_ += size;
    return p;
  }
  void enter() {
    if (++depth_ > kMaxDepth) throw ProtocolError("message nested too deeply");
  }
  void leave() noexcept { --depth_; }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

// --- primitives ---------------------------------------------------------------------------------
template <class T>
requires std::is_arithmetic_v<T>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}

template <class T>
requires std::is_arithmetic_v<T>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    unsigned char byte = 0;
    ar.loadBinary(&byte, 1);
    if (byte > 1) throw ProtocolError("invalid bool");
    t = byte != 0;
  } else {
    ar.loadBinary(std::addressof(t), sizeof(t));
  }
}

template <class Archive, class T>
requires std::is_same_v<Archive, OutputArchive> || std::is_same_v<Archive, InputArchive>
void CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const cereal::SizeTag<T>& t) {
  ar(t.size);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  // Each element takes at least one byte on the wire (empty element types excepted, which we
  // then refuse in bulk): a larger count is a lie that would make the container allocate.
  if (t.size > ar.remaining()) throw ProtocolError("length prefix larger than the message");
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const cereal::BinaryData<T>& bd) {
  ar.saveBinary(bd.data, static_cast<std::size_t>(bd.size));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

// Strings are copied straight from the message (cereal's own load resizes first, which writes
// every byte twice: a measurable cost for large messages). More specialized than cereal's
// overload, so it is the one chosen.
template <class Traits, class Alloc>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, std::basic_string<char, Traits, Alloc>& str) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  const auto* p = reinterpret_cast<const char*>(ar.take(static_cast<std::size_t>(size)));
  reserve_large(str, static_cast<std::size_t>(size));
  str.assign(p, static_cast<std::size_t>(size));
}

// Vectors of numbers are copied in one piece, into huge pages when large.
template <class T, class Alloc>
requires std::is_arithmetic_v<T> &&
    (!std::is_same_v<T, bool>)void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar,
                                                             std::vector<T, Alloc>& v) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  const std::size_t n = static_cast<std::size_t>(size);
  if (n > ar.remaining() / sizeof(T)) throw ProtocolError("length prefix larger than the message");
  const std::byte* p = ar.take(n * sizeof(T));
  reserve_large(v, n);
  v.resize(n);
  if (n != 0) std::memcpy(v.data(), p, n * sizeof(T));
}

// Depth accounting: cereal calls these around every value it loads.
template <class T>
void prologue(InputArchive& ar, const T&) {
  ar.enter();
}
template <class T>
void epilogue(InputArchive& ar, const T&) {
  ar.leave();
}
template <class T>
void prologue(OutputArchive&, const T&) {}
template <class T>
void epilogue(OutputArchive&, const T&) {}

// --- trivially copyable user types: bytes, without a serialize function -------------------------
template <class T, template <class...> class Template>
inline constexpr bool is_specialization_of = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_of<Template<Args...>, Template> = true;

template <class T>
inline constexpr bool is_std_array = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array<std::array<T, N>> = true;

// Standard types cereal already knows how to write, even when trivially copyable.
template <class T>
inline constexpr bool cereal_knows_std_type =
    is_std_array<T> || is_specialization_of<T, std::optional> ||
    is_specialization_of<T, std::variant> || is_specialization_of<T, std::pair> ||
    is_specialization_of<T, std::tuple> || is_specialization_of<T, std::chrono::duration> ||
    std::is_same_v<T, std::monostate>;

template <class T, class Archive>
inline constexpr bool has_own_serialization =
    cereal::traits::has_member_serialize<T, Archive>::value ||
    cereal::traits::has_member_save<T, Archive>::value ||
    cereal::traits::has_member_load<T, Archive>::value ||
    cereal::traits::has_member_versioned_serialize<T, Archive>::value ||
    cereal::traits::has_non_member_serialize<T, Archive>::value;

template <class T>
concept PlainBytes =
    std::is_trivially_copyable_v<T> && std::is_class_v<T> && !cereal_knows_std_type<T> &&
    !has_own_serialization<T, OutputArchive> && !has_own_serialization<T, InputArchive>;

template <PlainBytes T>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(T));
}
template <PlainBytes T>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(T));
}

}  // namespace mp::detail

CEREAL_REGISTER_ARCHIVE(mp::detail::OutputArchive)
CEREAL_REGISTER_ARCHIVE(mp::detail::InputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(mp::detail::InputArchive, mp::detail::OutputArchive)
