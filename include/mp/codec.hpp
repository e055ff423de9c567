// mp/codec.hpp — how values cross a process boundary (Python's pickle, for mp).
//
//   std::vector<std::byte> bytes = mp::encode(std::map<std::string, int>{{"a", 1}});
//   auto m = mp::decode<std::map<std::string, int>>(bytes);   // ProtocolError if not that type
//
// Encodable: arithmetic types, enums, std::string, vector, array, map, unordered_map, set,
// pair, tuple, optional, variant, chrono::duration, nested freely; user types with a cereal
// `template <class Archive> void serialize(Archive&)` (member or free); and any trivially
// copyable type that holds no address, which travels as its bytes (a memcpy). Anything else fails
// to compile, and the compiler names the innermost type at fault (WorkItem, not
// std::optional<WorkItem>).
//
// A message is an 8-byte tag naming the type, then the value. Decoding never trusts its input:
// a wrong tag, a truncated or oversized message, an impossible length or an invalid bool throws
// ProtocolError; no read goes out of bounds and no container is sized beyond the message.
//
// Differences from Python: types are checked at both ends, and nothing is executed on decode.
// An address means nothing in another process, so values that hold one are refused at compile
// time: pointers (function pointers too), member pointers, references, views (std::string_view,
// std::span, std::reference_wrapper, std::initializer_list), and aggregates with such a field,
// however deep (the fields of a trivially copyable aggregate are inspected; see holds_address in
// detail/archive.hpp). Send the owning value instead: std::string, std::vector. A trivially
// copyable class with constructors or private fields cannot be inspected: it is sent as its bytes,
// on its author's word that they hold no address.
#pragma once

#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mp/detail/archive.hpp"
#include "mp/detail/archive_containers.hpp"
#include "mp/detail/type_name.hpp"
#include "mp/errors.hpp"

namespace mp {

namespace detail {

// Travels as its bytes: trivially copyable and holding no address (bool excepted, so that a
// decoded bool is checked to be 0 or 1), unless it has serialization functions of its own.
template <class T>
inline constexpr bool memcpy_encodable =
    std::is_trivially_copyable_v<T> && !holds_address_v<T> && !std::is_same_v<T, bool> &&
    !(std::is_class_v<T> &&
      (has_own_serialization<T, OutputArchive> || has_own_serialization<T, InputArchive>));

inline constexpr std::size_t kTagSize = sizeof(std::uint64_t);

// This thread's encoding buffer, reused by every send and put so that encoding allocates only
// when a message is larger than any before it.
std::vector<std::byte>& encode_buffer();

// The encoding buffer keeps at most this much between messages: a message that grew it past
// this releases it afterwards, so that one large message does not hold its size for the
// thread's lifetime. Small messages never reach it.
inline constexpr std::size_t kKeptEncodeBuffer = std::size_t{1} << 20;
void release_encode_buffer() noexcept;  // frees this thread's encoding buffer

// This thread's encoding buffer, cleared, for one message; trimmed when the lease ends (also
// when encoding or sending throws).
class EncodeBufferLease {
 public:
  EncodeBufferLease() : buf_(encode_buffer()) { buf_.clear(); }
  ~EncodeBufferLease() {
    if (buf_.capacity() > kKeptEncodeBuffer) [[unlikely]]
      release_encode_buffer();
  }
  EncodeBufferLease(const EncodeBufferLease&) = delete;
  EncodeBufferLease& operator=(const EncodeBufferLease&) = delete;
  std::vector<std::byte>& get() noexcept { return buf_; }

 private:
  std::vector<std::byte>& buf_;
};

[[noreturn]] void throw_wrong_type();
[[noreturn]] void throw_bad_message(const char* what);

}  // namespace detail

namespace detail {

// Whether T can be encoded, checked through the standard containers down to their elements
// (cereal's own traits only look at the outermost type). An element must be default
// constructible: the receiver makes one, then reads into it. Only a class's serialization counts:
// cereal declares one for raw pointers, only to refuse them.
template <class T>
struct encodable
    : std::bool_constant<std::is_default_constructible_v<T> &&
                         (std::is_arithmetic_v<T> || std::is_enum_v<T> ||
                          (std::is_class_v<T> && has_own_serialization<T, OutputArchive>) ||
                          (std::is_trivially_copyable_v<T> && !holds_address_v<T>))> {};
template <class C, class Tr, class A>
struct encodable<std::basic_string<C, Tr, A>> : std::true_type {};
template <class T, class A>
struct encodable<std::vector<T, A>> : encodable<T> {};
template <class T, std::size_t N>
struct encodable<std::array<T, N>> : encodable<T> {};
template <class T>
struct encodable<std::optional<T>> : encodable<T> {};
template <class K, class C, class A>
struct encodable<std::set<K, C, A>> : encodable<K> {};
template <class K, class H, class E, class A>
struct encodable<std::unordered_set<K, H, E, A>> : encodable<K> {};
template <class K, class V, class C, class A>
struct encodable<std::map<K, V, C, A>> : std::conjunction<encodable<K>, encodable<V>> {};
template <class K, class V, class H, class E, class A>
struct encodable<std::unordered_map<K, V, H, E, A>> : std::conjunction<encodable<K>, encodable<V>> {
};
template <class A, class B>
struct encodable<std::pair<A, B>> : std::conjunction<encodable<A>, encodable<B>> {};
template <class... Ts>
struct encodable<std::tuple<Ts...>> : std::conjunction<encodable<Ts>...> {};
template <class... Ts>
struct encodable<std::variant<Ts...>> : std::conjunction<encodable<Ts>...> {};
template <class R, class P>
struct encodable<std::chrono::duration<R, P>> : std::true_type {};
template <>
struct encodable<std::monostate> : std::true_type {};
template <class T>
inline constexpr bool encodable_v = encodable<T>::value;

// Refuses an unencodable T with a static_assert instantiated for the innermost type at fault, so
// that the compiler names WorkItem, not std::optional<WorkItem> (the note under the error reads
// "'mp::detail::encodable_v<WorkItem>' evaluates to false").
template <class T>
struct EncodableCheck {
  static constexpr void run() {
    if constexpr (encodable<T>::value) {
      return;
    } else if constexpr (holds_address_v<T>) {
      AddressCheck<T>::run();
    } else {
      static_assert(encodable_v<T>,
                    "mp: this type cannot cross a process boundary; give it a cereal "
                    "serialize(Archive&) function or make it trivially copyable, and default "
                    "constructible (the type is named in the note below)");
    }
  }
};
template <class T, class... Ts>
struct EncodableElements {
  static constexpr void run() { (EncodableCheck<Ts>::run(), ...); }
};
template <class T, class A>
struct EncodableCheck<std::vector<T, A>> : EncodableElements<void, T> {};
template <class T, std::size_t N>
struct EncodableCheck<std::array<T, N>> : EncodableElements<void, T> {};
template <class T>
struct EncodableCheck<std::optional<T>> : EncodableElements<void, T> {};
template <class K, class C, class A>
struct EncodableCheck<std::set<K, C, A>> : EncodableElements<void, K> {};
template <class K, class H, class E, class A>
struct EncodableCheck<std::unordered_set<K, H, E, A>> : EncodableElements<void, K> {};
template <class K, class V, class C, class A>
struct EncodableCheck<std::map<K, V, C, A>> : EncodableElements<void, K, V> {};
template <class K, class V, class H, class E, class A>
struct EncodableCheck<std::unordered_map<K, V, H, E, A>> : EncodableElements<void, K, V> {};
template <class A, class B>
struct EncodableCheck<std::pair<A, B>> : EncodableElements<void, A, B> {};
template <class... Ts>
struct EncodableCheck<std::tuple<Ts...>> : EncodableElements<void, Ts...> {};
template <class... Ts>
struct EncodableCheck<std::variant<Ts...>> : EncodableElements<void, Ts...> {};

}  // namespace detail

// A type mp can send: trivially copyable and free of addresses (no pointer, reference or view,
// nor a field that is one), a standard container of encodable types, or a type with cereal
// serialization functions; and default constructible.
template <class T>
concept Encodable = std::is_default_constructible_v<T> && detail::encodable<T>::value;

namespace detail {

// Refuses, at compile time, a T that is not Encodable, naming the innermost type at fault.
template <class T>
constexpr void check_encodable() {
  EncodableCheck<T>::run();
}

// Encodable<T>, for a channel's own static_assert: when false, check_encodable first names the
// innermost type at fault (a static_assert on Encodable<T> alone names only T).
//   static_assert(detail::require_encodable<T>(), "mp::Queue<T> needs an encodable T");
template <class T>
constexpr bool require_encodable() {
  check_encodable<T>();
  return Encodable<T>;
}

}  // namespace detail

namespace detail {

// The value alone, without its tag: for channels whose element type is fixed at both ends (a
// Queue<T> records its type once, in its shared header).
template <class T>
void encode_payload_into(const T& value, std::vector<std::byte>& out) {
  if constexpr (!Encodable<T>) {
    check_encodable<T>();  // fails, naming the type at fault; nothing more to instantiate
  } else if constexpr (memcpy_encodable<T>) {
    const std::size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &value, sizeof(T));
  } else {
    OutputArchive ar(out);
    ar(value);
  }
}

// The same bytes, written into `sink` (empty so far), which then learns their size (finish).
template <class T>
void encode_payload_into(const T& value, EncodeSink& sink) {
  if constexpr (!Encodable<T>) {
    check_encodable<T>();
  } else if constexpr (memcpy_encodable<T>) {
    const std::span<std::byte> room = sink.grow(0, sizeof(T));
    std::memcpy(room.data(), &value, sizeof(T));
    sink.finish(sizeof(T));
  } else {
    OutputArchive ar(sink);
    ar(value);
  }
}

// `release_read`: the payload is a shared mapping whose pages may be given back as they are read
// (see InputArchive).
// Types whose encoding's size is known without encoding them (a string, a vector of numbers or
// plain structs), and that size: a Queue encodes such a value straight into its ring.
template <class T>
struct sized_encoding : std::false_type {};
template <class Tr, class A>
struct sized_encoding<std::basic_string<char, Tr, A>> : std::true_type {};
template <class T, class A>
struct sized_encoding<std::vector<T, A>> : bulk_bytes<T> {};

template <class C>
requires sized_encoding<C>::value std::size_t encoded_size(const C& c) {
  return sizeof(cereal::size_type) + c.size() * sizeof(typename C::value_type);
}

// Writes into given memory only: for an encoding whose size is known (encoded_size).
class SpanSink final : public EncodeSink {
 public:
  explicit SpanSink(std::span<std::byte> room) noexcept : room_(room) {}
  std::span<std::byte> grow(std::size_t, std::size_t need) override {
    if (need > room_.size()) throw std::logic_error("mp: an encoding outgrew its known size");
    return room_;
  }
  void finish(std::size_t) noexcept override {}

 private:
  std::span<std::byte> room_;
};

template <class T>
T decode_payload(std::span<const std::byte> payload, bool release_read = false) {
  if constexpr (!Encodable<T>) {
    check_encodable<T>();
    throw_bad_message("not encodable");  // not reached: the line above does not compile
  } else {
    T value{};
    if constexpr (memcpy_encodable<T>) {
      if (payload.size() != sizeof(T)) throw_bad_message("message size does not match its type");
      std::memcpy(&value, payload.data(), sizeof(T));
    } else {
      InputArchive ar(payload, release_read);
      try {
        ar(value);
      } catch (const ProtocolError&) {
        throw;
      } catch (const std::exception& e) {  // cereal::Exception, bad_alloc, length_error
        throw_bad_message(e.what());
      }
      if (ar.remaining() != 0) throw_bad_message("trailing bytes after the value");
    }
    return value;
  }
}

}  // namespace detail

// Appends the message for `value` to `out`: its type's tag, then the value.
template <class T>
void encode_into(const T& value, std::vector<std::byte>& out) {
  const std::uint64_t tag = detail::type_tag<T>();
  const std::size_t at = out.size();
  out.resize(at + detail::kTagSize);
  std::memcpy(out.data() + at, &tag, detail::kTagSize);
  detail::encode_payload_into(value, out);
}

template <class T>
std::vector<std::byte> encode(const T& value) {
  std::vector<std::byte> out;
  if constexpr (detail::memcpy_encodable<T>) out.reserve(detail::kTagSize + sizeof(T));
  encode_into(value, out);
  return out;
}

namespace detail {
// decode<T>, giving the message's pages back as they are read when `release_read` (see
// decode_payload).
template <class T>
T decode_message(std::span<const std::byte> message, bool release_read) {
  if (message.size() < kTagSize) throw_bad_message("message shorter than its tag");
  std::uint64_t tag = 0;
  std::memcpy(&tag, message.data(), kTagSize);
  if (tag != type_tag<T>()) throw_wrong_type();
  return decode_payload<T>(message.subspan(kTagSize), release_read);
}
}  // namespace detail

// Decodes a message made by encode<T>. Throws ProtocolError for anything else.
template <class T>
T decode(std::span<const std::byte> message) {
  return detail::decode_message<T>(message, false);
}

}  // namespace mp
