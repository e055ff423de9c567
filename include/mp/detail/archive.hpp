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
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

// Where an OutputArchive writes: memory handed out in runs, each holding the bytes written so far.
// A std::vector by default; a channel may write a large message straight into shared memory.
class EncodeSink {
 public:
  // Room for at least `need` bytes in all, the first `used` (written so far) kept in place: the
  // whole writable run. Throws when no memory can be had.
  virtual std::span<std::byte> grow(std::size_t used, std::size_t need) = 0;
  // The archive is done: `used` bytes were written. Also called when encoding threw.
  virtual void finish(std::size_t used) noexcept = 0;

 protected:
  ~EncodeSink() = default;
};

// Appends to a std::vector: grows it ahead by doubling (zero-filled, as std::vector must) and
// trims it to what was written at the end.
class VectorSink final : public EncodeSink {
 public:
  VectorSink() noexcept = default;  // no vector: for an archive given a sink of its own
  explicit VectorSink(std::vector<std::byte>& out) noexcept : out_(&out) {}
  std::span<std::byte> grow(std::size_t used, std::size_t need) override;
  void finish(std::size_t used) noexcept override { out_->resize(used); }  // shrinks: no throw

 private:
  std::vector<std::byte>* out_ = nullptr;
};

// A small write is a bounds check and a memcpy of a constant size: the sink is asked for more
// room only when the run it gave is full. Read what was written only after the archive is gone.
class OutputArchive : public cereal::OutputArchive<OutputArchive, cereal::AllowEmptyClassElision> {
 public:
  // Appends to `out`.
  explicit OutputArchive(std::vector<std::byte>& out)
      : cereal::OutputArchive<OutputArchive, cereal::AllowEmptyClassElision>(this),
        vector_(out),
        sink_(&vector_),
        data_(out.data()),
        room_(out.size()),
        size_(out.size()) {}
  // Writes into `sink`, after the `used` bytes of `room` (the sink's current run) already there.
  explicit OutputArchive(EncodeSink& sink, std::span<std::byte> room = {}, std::size_t used = 0)
      : cereal::OutputArchive<OutputArchive, cereal::AllowEmptyClassElision>(this),
        sink_(&sink),
        data_(room.data()),
        room_(room.size()),
        size_(used) {}
  ~OutputArchive() { sink_->finish(size_); }
  OutputArchive(const OutputArchive&) = delete;
  OutputArchive& operator=(const OutputArchive&) = delete;

  void saveBinary(const void* data, std::size_t size) {
    if (size > room_ - size_) [[unlikely]]
      grow(size);
    if (size != 0) std::memcpy(data_ + size_, data, size);
    size_ += size;
  }
  // Room for the next `size` bytes, to be written through the pointer before any other write.
  std::byte* claim(std::size_t size) {
    if (size > room_ - size_) [[unlikely]]
      grow(size);
    std::byte* p = data_ + size_;
    size_ += size;
    return p;
  }

 private:
  void grow(std::size_t size);  // makes room for `size` more bytes at size_

  VectorSink vector_;  // the sink, when the archive was given a vector
  EncodeSink* sink_;
  std::byte* data_;
  std::size_t room_;  // writable bytes at data_
  std::size_t size_;  // bytes written
};

// Gives back the memory of whole pages in [data, data + size), already read, of a mapping of its
// own (madvise MADV_DONTNEED; never a malloc'd buffer): a shared file mapping keeps their
// contents in the file, private memory loses them, which is fine for bytes never read again.
void release_read_pages(const std::byte* data, std::size_t size) noexcept;
// Maps in, in one call, the pages of [data, data + size) of a shared file mapping about to be
// read: cheaper than faulting them one by one. A hint: does nothing on kernels before 5.14.
void prepare_read_pages(const std::byte* data, std::size_t size) noexcept;

class InputArchive : public cereal::InputArchive<InputArchive, cereal::AllowEmptyClassElision> {
 public:
  static constexpr int kMaxDepth = 256;
  // Reading a large run of bytes from input that is given back as it is read goes this many at
  // a time.
  static constexpr std::size_t kReleaseStep = std::size_t{4} << 20;

  // `release_read`: the input is a mapping of its own (a queue's body, a large frame received by
  // a Connection) whose pages may be given back once read (release_read_pages), so that
  // decoding a large message does not hold it twice. Bytes read are never read again.
  explicit InputArchive(std::span<const std::byte> in, bool release_read = false)
      : cereal::InputArchive<InputArchive, cereal::AllowEmptyClassElision>(this),
        in_(in),
        release_read_(release_read) {}

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
  // Whether a run of `size` bytes should be read with take_runs: the input is given back as it is
  // read, and the run is large.
  bool read_in_runs(std::size_t size) const noexcept {
    return release_read_ && size >= kReleaseStep;
  }
  // The next `size` bytes, bounds-checked, handed to `consume(data, n)` in order, about
  // kReleaseStep at a time (a multiple of `Unit`, as `size` must be), each run's pages mapped in
  // before and given back once consumed.
  template <std::size_t Unit = 1, class F>
  void take_runs(std::size_t size, F&& consume) {
    constexpr std::size_t step = kReleaseStep < Unit ? Unit : kReleaseStep - kReleaseStep % Unit;
    const std::byte* p = take(size);
    for (std::size_t done = 0; done < size;) {
      const std::size_t n = std::min(step, size - done);
      prepare_read_pages(p + done, n);
      consume(p + done, n);
      release_read_pages(p + done, n);
      done += n;
    }
  }
  void enter() {
    if (++depth_ > kMaxDepth) throw ProtocolError("message nested too deeply");
  }
  void leave() noexcept { --depth_; }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  bool release_read_ = false;
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

// Depth accounting: cereal calls these around every value it loads. Numbers cannot nest.
template <class T>
void prologue(InputArchive& ar, const T&) {
  if constexpr (!std::is_arithmetic_v<T>) ar.enter();
}
template <class T>
void epilogue(InputArchive& ar, const T&) {
  if constexpr (!std::is_arithmetic_v<T>) ar.leave();
}
template <class T>
void prologue(OutputArchive&, const T&) {}
template <class T>
void epilogue(OutputArchive&, const T&) {}

// --- values that hold an address ----------------------------------------------------------------
// A pointer, a reference, a view (std::string_view, std::span) or a struct with one of these among
// its fields means nothing in another process, yet most are trivially copyable and would travel
// as their bytes. holds_address finds them: through arrays, optional, pair, tuple and variant, and
// through the fields of trivially copyable aggregates (inspected below, as Boost.PFR does it, by
// brace-initializing the aggregate with stand-ins that convert to any field type). A trivially
// copyable class that is not an aggregate (it has constructors or private fields) cannot be
// inspected and is taken at its word, as is a union (only its first member is seen).

template <class T>
struct holds_address;
template <class T>
inline constexpr bool holds_address_v = holds_address<T>::value;

// The negation, named so that under a failed static_assert the compiler's note reads
// "'mp::detail::address_free<const char*>' evaluates to false".
template <class T>
inline constexpr bool address_free = !holds_address_v<T>;

// Stand-ins for the fields of an aggregate in `T{field, field, ...}`. Declared only: they appear
// in unevaluated operands alone.
struct AnyField {
  template <class U>
  operator U() const noexcept;
};
// Converts to any type that holds no address. The conversion to one that does is deleted, not
// left out, so that it is chosen and fails: left out, a nested aggregate field would be
// initialized by brace elision, field by field, and an address deep inside it could go unseen.
struct AddressFreeField {
  template <class U>
  requires(!holds_address_v<U>) operator U() const noexcept;
  template <class U>
  requires holds_address_v<U>
  operator U() const noexcept = delete;
};

template <class T, class Field, std::size_t... I>
consteval bool brace_initializable(std::index_sequence<I...>) {
  return requires {
    T{(static_cast<void>(I), Field{})...};
  };
}
template <class T, class Field, std::size_t N>
consteval bool brace_initializable_with() {
  return brace_initializable<T, Field>(std::make_index_sequence<N>{});
}

// The most initializers T takes: its fields, each array field counted element by element (brace
// elision spreads them). An aggregate takes any number up to the most, so it is found by doubling,
// then bisecting: a char[4096] field costs two dozen trials, not four thousand. kNotInspected when
// T{} is not valid (a reference field) or the count is beyond kMaxInitializers.
inline constexpr std::size_t kMaxInitializers = std::size_t{1} << 14;
inline constexpr std::size_t kNotInspected = ~std::size_t{0};

// Valid at Low, not at High.
template <class T, std::size_t Low, std::size_t High>
consteval std::size_t bisect_initializers() {
  if constexpr (High - Low <= 1) {
    return Low;
  } else if constexpr (constexpr std::size_t mid = Low + (High - Low) / 2;
                       brace_initializable_with<T, AnyField, mid>()) {
    return bisect_initializers<T, mid, High>();
  } else {
    return bisect_initializers<T, Low, mid>();
  }
}

// Valid at N / 2.
template <class T, std::size_t N>
consteval std::size_t double_initializers() {
  if constexpr (N > kMaxInitializers) {
    return kNotInspected;
  } else if constexpr (brace_initializable_with<T, AnyField, N>()) {
    return double_initializers<T, 2 * N>();
  } else {
    return bisect_initializers<T, N / 2, N>();
  }
}

template <class T>
consteval std::size_t initializer_count() {
  if constexpr (!brace_initializable_with<T, AnyField, 0>()) {
    return kNotInspected;
  } else {
    return double_initializers<T, 1>();
  }
}

// A trivially copyable aggregate class, whose fields can be inspected.
template <class T>
concept InspectableAggregate = std::is_class_v<T> && std::is_aggregate_v<T> &&
                               std::is_trivially_copyable_v<T> && !std::is_union_v<T> &&
                               (initializer_count<T>() != kNotInspected);

template <class T>
struct holds_address : std::bool_constant<std::is_pointer_v<T> || std::is_member_pointer_v<T> ||
                                          std::is_reference_v<T>> {};
template <InspectableAggregate T>
struct holds_address<T>
    : std::bool_constant<!brace_initializable_with<T, AddressFreeField, initializer_count<T>()>()> {
};
template <class T, std::size_t N>
struct holds_address<T[N]> : holds_address<T> {};
template <class T>
struct holds_address<T[]> : std::true_type {};  // only behind a pointer or a reference
template <class C, class Tr>
struct holds_address<std::basic_string_view<C, Tr>> : std::true_type {};
template <class T, std::size_t E>
struct holds_address<std::span<T, E>> : std::true_type {};
template <class T>
struct holds_address<std::reference_wrapper<T>> : std::true_type {};
template <class T>
struct holds_address<std::initializer_list<T>> : std::true_type {};
template <class T>
struct holds_address<std::optional<T>> : holds_address<T> {};
template <class A, class B>
struct holds_address<std::pair<A, B>> : std::disjunction<holds_address<A>, holds_address<B>> {};
template <class... Ts>
struct holds_address<std::tuple<Ts...>> : std::disjunction<holds_address<Ts>...> {};
template <class... Ts>
struct holds_address<std::variant<Ts...>> : std::disjunction<holds_address<Ts>...> {};
template <class T, std::size_t N>
struct holds_address<std::array<T, N>> : holds_address<T> {};

// Refuses a value that holds an address, with a static_assert instantiated for the innermost type
// that does: `const char*`, not the struct around it, nor the optional around that.
template <class T>
struct AddressCheck;
template <class T>
constexpr bool report_address() {
  AddressCheck<T>::run();
  return true;
}

// Like AddressFreeField, and in choosing a conversion to an address-holding field type it runs
// that type's AddressCheck, whose static_assert then names it.
struct ReportingField {
  template <class U, bool = report_address<U>()>
  requires(!holds_address_v<U>) operator U() const noexcept;
  template <class U, bool = report_address<U>()>
  requires holds_address_v<U>
  operator U() const noexcept = delete;
};

template <class T>
struct AddressCheck {
  static constexpr void run() {
    if constexpr (!holds_address_v<T>) {
      return;
    } else if constexpr (std::is_bounded_array_v<T>) {
      AddressCheck<std::remove_extent_t<T>>::run();
    } else if constexpr (InspectableAggregate<T>) {
      // Fails (and reports, field by field) exactly when holds_address found an address.
      constexpr bool fields_address_free =
          brace_initializable_with<T, ReportingField, initializer_count<T>()>();
      static_assert(!fields_address_free, "mp: internal: an address was found but not named");
    } else {
      static_assert(address_free<T>,
                    "mp: this type holds an address (a pointer, a reference, or a view such as "
                    "std::string_view or std::span), which means nothing in another process: "
                    "send the value itself (std::string, std::vector) instead");
    }
  }
};
template <class T>
struct AddressCheck<std::optional<T>> {
  static constexpr void run() { AddressCheck<T>::run(); }
};
template <class A, class B>
struct AddressCheck<std::pair<A, B>> {
  static constexpr void run() {
    AddressCheck<A>::run();
    AddressCheck<B>::run();
  }
};
template <class... Ts>
struct AddressCheck<std::tuple<Ts...>> {
  static constexpr void run() { (AddressCheck<Ts>::run(), ...); }
};
template <class... Ts>
struct AddressCheck<std::variant<Ts...>> {
  static constexpr void run() { (AddressCheck<Ts>::run(), ...); }
};
template <class T, std::size_t N>
struct AddressCheck<std::array<T, N>> {
  static constexpr void run() { AddressCheck<T>::run(); }
};

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
void CEREAL_SAVE_FUNCTION_NAME([[maybe_unused]] OutputArchive& ar, [[maybe_unused]] const T& t) {
  if constexpr (holds_address_v<T>) {
    AddressCheck<T>::run();  // a serialize function wrote, say, a std::string_view field
  } else {
    ar.saveBinary(std::addressof(t), sizeof(T));
  }
}
template <PlainBytes T>
void CEREAL_LOAD_FUNCTION_NAME([[maybe_unused]] InputArchive& ar, [[maybe_unused]] T& t) {
  if constexpr (holds_address_v<T>) {
    AddressCheck<T>::run();
  } else {
    ar.loadBinary(std::addressof(t), sizeof(T));
  }
}

}  // namespace mp::detail

CEREAL_REGISTER_ARCHIVE(mp::detail::OutputArchive)
CEREAL_REGISTER_ARCHIVE(mp::detail::InputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(mp::detail::InputArchive, mp::detail::OutputArchive)
