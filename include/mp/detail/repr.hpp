// mp/detail/repr.hpp — values written as Python's repr() writes them, for printing managed
// objects the way a Python user expects: {'key': 'value'}, ['a', 1, 2.5, True].
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace mp::detail {

inline void repr_string(std::ostream& os, std::string_view s) {
  // Python picks double quotes when the text holds a single quote and no double one.
  const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
  const char q = dq ? '"' : '\'';
  os << q;
  for (char c : s) {
    if (c == q || c == '\\') {
      os << '\\' << c;
    } else if (c == '\n') {
      os << "\\n";
    } else if (c == '\t') {
      os << "\\t";
    } else if (c == '\r') {
      os << "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      const char* hex = "0123456789abcdef";
      os << "\\x" << hex[(c >> 4) & 0xf] << hex[c & 0xf];
    } else {
      os << c;
    }
  }
  os << q;
}

template <class T>
void repr(std::ostream& os, const T& v);

template <class T>
void repr_sequence(std::ostream& os, const T& seq, char open, char close) {
  os << open;
  bool first = true;
  for (const auto& x : seq) {
    if (!first) os << ", ";
    first = false;
    repr(os, x);
  }
  os << close;
}

template <class T>
void repr(std::ostream& os, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    os << (v ? "True" : "False");
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    repr_string(os, v);
  } else if constexpr (std::is_floating_point_v<T>) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip
    std::string s(buf, end);
    if (s == "inf" || s == "-inf" || s == "nan" || s == "-nan") {
      os << (s == "-nan" ? "nan" : s);
      return;
    }
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    os << s;
  } else if constexpr (std::is_arithmetic_v<T>) {
    os << +v;
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    os << '(';
    std::apply(
        [&](const auto&... xs) {
          std::size_t i = 0;
          ((os << (i++ ? ", " : ""), repr(os, xs)), ...);
        },
        v);
    if (std::tuple_size_v<T> == 1) os << ',';
    os << ')';
  } else if constexpr (requires {
                         v.has_value();
                         *v;
                       }) {
    if (v) {
      repr(os, *v);
    } else {
      os << "None";
    }
  } else if constexpr (requires {
                         v.begin();
                         v.end();
                       }) {
    repr_sequence(os, v, '[', ']');
  } else {
    os << v;
  }
}

}  // namespace mp::detail
