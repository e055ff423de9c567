// mp/detail/archive_containers.hpp — strings and standard containers, without cereal's per-element
// layers.
//
// The wire layout is cereal's (a 64-bit element count, then the elements), so messages are the
// same as before; only the work differs. A container of plain bytes (numbers, trivially copyable
// structs without addresses, std::arrays of these) is one memcpy each way. Other containers write
// and read numbers and strings in place, reserve before inserting, and go through cereal only for
// elements that need it (user types, optional, variant...).
//
// Against hostile input: a count is checked against the bytes left before anything is reserved,
// using the fewest bytes one element can take on the wire (min_wire_size), so a container never
// reserves more elements than the message could hold; and where an element is much larger in
// memory than on the wire, the elements are made as their bytes arrive, not all up front.
// These overloads take mp's archives, not a template one, so overload resolution prefers them
// to cereal's.
#pragma once

#include <cereal/cereal.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mp/detail/archive.hpp"
#include "mp/errors.hpp"

namespace mp::detail {

// Travels inside a container as its bytes, exactly as cereal would write it element by element.
// bool is not (a decoded bool is checked to be 0 or 1), nor an enum (cereal writes its underlying
// type, which may be bool).
template <class T>
struct bulk_bytes
    : std::bool_constant<(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) ||
                         (PlainBytes<T> && !holds_address_v<T> && !std::is_empty_v<T>)> {};
template <class T, std::size_t N>
struct bulk_bytes<std::array<T, N>>
    : std::bool_constant<bulk_bytes<T>::value && N != 0 &&
                         sizeof(std::array<T, N>) == N * sizeof(T)> {};
template <class T>
inline constexpr bool bulk_bytes_v = bulk_bytes<T>::value;

// The fewest bytes one T takes on the wire; 1 where that is not known (cereal counted every
// element as at least one byte, and so does mp).
template <class T>
struct min_wire_size : std::integral_constant<std::size_t, bulk_bytes_v<T> ? sizeof(T) : 1> {};
template <class C, class Tr, class A>
struct min_wire_size<std::basic_string<C, Tr, A>>
    : std::integral_constant<std::size_t, sizeof(cereal::size_type)> {};
template <class T, class A>
struct min_wire_size<std::vector<T, A>>
    : std::integral_constant<std::size_t, sizeof(cereal::size_type)> {};
template <class K, class V, class C, class A>
struct min_wire_size<std::map<K, V, C, A>>
    : std::integral_constant<std::size_t, sizeof(cereal::size_type)> {};
template <class K, class V, class H, class E, class A>
struct min_wire_size<std::unordered_map<K, V, H, E, A>>
    : std::integral_constant<std::size_t, sizeof(cereal::size_type)> {};
template <class K, class C, class A>
struct min_wire_size<std::set<K, C, A>>
    : std::integral_constant<std::size_t, sizeof(cereal::size_type)> {};
template <class K, class H, class E, class A>
struct min_wire_size<std::unordered_set<K, H, E, A>>
    : std::integral_constant<std::size_t, sizeof(cereal::size_type)> {};
template <class A, class B>
struct min_wire_size<std::pair<A, B>>
    : std::integral_constant<std::size_t, min_wire_size<A>::value + min_wire_size<B>::value> {};
template <class T>
inline constexpr std::size_t min_wire_size_v = min_wire_size<T>::value;

template <class T>
inline constexpr bool is_char_string = false;
template <class Tr, class A>
inline constexpr bool is_char_string<std::basic_string<char, Tr, A>> = true;

// --- counts
// ---------------------------------------------------------------------------------------

inline void save_count(OutputArchive& ar, std::size_t n) {
  const auto size = static_cast<cereal::size_type>(n);
  ar.saveBinary(&size, sizeof size);
}

// Reads an element count and refuses one that the bytes left could not hold.
template <class T>
std::size_t load_count(InputArchive& ar) {
  cereal::size_type size = 0;
  ar.loadBinary(&size, sizeof size);
  if (size > ar.remaining() / min_wire_size_v<T>) {
    throw ProtocolError("length prefix larger than the message");
  }
  return static_cast<std::size_t>(size);
}

// --- strings
// --------------------------------------------------------------------------------------

template <class Traits, class Alloc>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const std::basic_string<char, Traits, Alloc>& s) {
  const auto size = static_cast<cereal::size_type>(s.size());
  std::byte* p = ar.claim(sizeof size + s.size());  // one bounds check for both
  std::memcpy(p, &size, sizeof size);
  std::memcpy(p + sizeof size, s.data(), s.size());
}

// Copied straight from the message (cereal's own load resizes first, which writes every byte
// twice: a measurable cost for large messages).
template <class Traits, class Alloc>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, std::basic_string<char, Traits, Alloc>& s) {
  const std::size_t n = load_count<char>(ar);
  if (ar.read_in_runs(n)) [[unlikely]] {
    s.clear();
    reserve_large(s, n);
    ar.take_runs(n, [&](const std::byte* p, std::size_t k) {
      s.append(reinterpret_cast<const char*>(p), k);
    });
    return;
  }
  const auto* p = reinterpret_cast<const char*>(ar.take(n));
  reserve_large(s, n);
  s.assign(p, n);
}

// --- one element of a container
// ------------------------------------------------------------------- Numbers and strings are
// leaves: written and read here, without cereal's dispatch or the depth accounting that only
// nesting needs.

template <class T>
void save_element(OutputArchive& ar, const T& t) {
  if constexpr (bulk_bytes_v<T>) {
    ar.saveBinary(std::addressof(t), sizeof(T));
  } else if constexpr (is_char_string<T>) {
    CEREAL_SAVE_FUNCTION_NAME(ar, t);
  } else {
    ar(t);
  }
}

template <class T>
void load_element(InputArchive& ar, T& t) {
  if constexpr (bulk_bytes_v<T>) {
    ar.loadBinary(std::addressof(t), sizeof(T));
  } else if constexpr (is_char_string<T>) {
    CEREAL_LOAD_FUNCTION_NAME(ar, t);
  } else {
    ar(t);
  }
}

// --- vectors
// --------------------------------------------------------------------------------------

template <class T, class Alloc>
requires(!std::is_same_v<T, bool>) void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar,
                                                                  const std::vector<T, Alloc>& v) {
  save_count(ar, v.size());
  if constexpr (bulk_bytes_v<T>) {
    ar.saveBinary(v.data(), v.size() * sizeof(T));
  } else {
    for (const T& t : v) save_element(ar, t);
  }
}

// Elements made ahead of their bytes: at most this many, or as many as take this many times the
// bytes left in memory, whichever is more; the rest as the elements arrive.
inline constexpr std::size_t kElementsAhead = 1024;
inline constexpr std::size_t kBytesAheadFactor = 4;

template <class T, class Alloc>
requires(!std::is_same_v<T, bool>) void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar,
                                                                  std::vector<T, Alloc>& v) {
  const std::size_t n = load_count<T>(ar);
  if constexpr (bulk_bytes_v<T>) {
    if (ar.read_in_runs(n * sizeof(T))) [[unlikely]] {
      // Made run by run, so that the vector's pages are written as the message's are given back.
      v.clear();
      reserve_large(v, n);
      ar.template take_runs<sizeof(T)>(n * sizeof(T), [&](const std::byte* p, std::size_t k) {
        const std::size_t at = v.size();
        v.resize(at + k / sizeof(T));
        std::memcpy(v.data() + at, p, k);
      });
      return;
    }
    const std::byte* p = ar.take(n * sizeof(T));
    reserve_large(v, n);
    v.resize(n);
    if (n != 0) std::memcpy(v.data(), p, n * sizeof(T));
  } else if constexpr (is_char_string<T>) {  // each string made once, from its bytes
    v.clear();
    v.reserve(n);  // at most sizeof(T) / 8 times the bytes left, by load_count
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t size = load_count<char>(ar);
      const auto* p = reinterpret_cast<const char*>(ar.take(size));
      v.emplace_back(p, size);
    }
  } else {
    const std::size_t ahead =
        std::max(kElementsAhead, kBytesAheadFactor * ar.remaining() / sizeof(T));
    std::size_t done = 0;
    while (done < n) {
      const std::size_t until = done == 0 ? std::min(n, ahead) : std::min(n, 2 * done);
      v.resize(until);
      for (; done < until; ++done) load_element(ar, v[done]);
    }
    v.resize(n);  // n == 0, or a vector that held more on entry
  }
}

// --- maps and sets
// --------------------------------------------------------------------------------

template <class Map>
void save_map(OutputArchive& ar, const Map& m) {
  save_count(ar, m.size());
  for (const auto& [key, value] : m) {
    save_element(ar, key);
    save_element(ar, value);
  }
}

template <class Map>
void load_map(InputArchive& ar, Map& m) {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  const std::size_t n = load_count<std::pair<K, V>>(ar);
  m.clear();
  if constexpr (requires { m.reserve(n); }) m.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    V value{};
    if constexpr (is_char_string<K>) {  // the key is made in its node, straight from the message
      const std::size_t size = load_count<char>(ar);
      const auto* p = reinterpret_cast<const char*>(ar.take(size));
      load_element(ar, value);
      m.emplace_hint(m.end(), std::piecewise_construct, std::forward_as_tuple(p, size),
                     std::forward_as_tuple(std::move(value)));
    } else {
      K key{};
      load_element(ar, key);
      load_element(ar, value);
      m.emplace_hint(m.end(), std::move(key), std::move(value));  // a std::map arrives sorted
    }
  }
}

template <class Set>
void save_set(OutputArchive& ar, const Set& s) {
  save_count(ar, s.size());
  for (const auto& key : s) save_element(ar, key);
}

template <class Set>
void load_set(InputArchive& ar, Set& s) {
  using K = typename Set::key_type;
  const std::size_t n = load_count<K>(ar);
  s.clear();
  if constexpr (requires { s.reserve(n); }) s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    K key{};
    load_element(ar, key);
    s.emplace_hint(s.end(), std::move(key));
  }
}

template <class K, class V, class C, class A>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const std::map<K, V, C, A>& m) {
  save_map(ar, m);
}
template <class K, class V, class C, class A>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, std::map<K, V, C, A>& m) {
  load_map(ar, m);
}
template <class K, class V, class H, class E, class A>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const std::unordered_map<K, V, H, E, A>& m) {
  save_map(ar, m);
}
template <class K, class V, class H, class E, class A>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, std::unordered_map<K, V, H, E, A>& m) {
  load_map(ar, m);
}
template <class K, class C, class A>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const std::set<K, C, A>& s) {
  save_set(ar, s);
}
template <class K, class C, class A>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, std::set<K, C, A>& s) {
  load_set(ar, s);
}
template <class K, class H, class E, class A>
void CEREAL_SAVE_FUNCTION_NAME(OutputArchive& ar, const std::unordered_set<K, H, E, A>& s) {
  save_set(ar, s);
}
template <class K, class H, class E, class A>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& ar, std::unordered_set<K, H, E, A>& s) {
  load_set(ar, s);
}

}  // namespace mp::detail
