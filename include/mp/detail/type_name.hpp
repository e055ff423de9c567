// mp/detail/type_name.hpp — a type's name and tag, the same whichever compiler built the program.
//
// Every message carries its type's tag (mp/codec.hpp), and a manager checks the tags of the
// values its objects hold: two programs that share a queue must agree on them even when one was
// built with g++ and the other with clang++. The compilers spell the same type differently
// (`long int` / `long`, `std::__cxx11::basic_string<char>` / `std::basic_string<char>`,
// `> >` / `>>`), so the tag hashes a canonical spelling: inline namespaces of the standard
// library dropped, builtin integer names in their short form, spaces only between two words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mp::detail {

// The 64-bit FNV-1a hash.
constexpr std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

template <class T>
constexpr std::string_view type_signature() {
  return __PRETTY_FUNCTION__;  // g++: "... [with T = <name>; ...]", clang++: "... [T = <name>]"
}

namespace type_names {

constexpr bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The words g++ and clang++ combine differently into builtin type names.
constexpr bool builtin_word(std::string_view w) {
  return w == "signed" || w == "unsigned" || w == "short" || w == "long" || w == "int" ||
         w == "char" || w == "double";
}

class Writer {
 public:
  constexpr Writer(char* out, std::size_t& size) : out_(out), size_(size) {}
  constexpr void put(std::string_view s) {
    for (char c : s) out_[size_++] = c;
  }
  constexpr char last() const { return size_ == 0 ? '\0' : out_[size_ - 1]; }

 private:
  char* out_;
  std::size_t& size_;
};

// One builtin type from the words of its name, in any order ("long unsigned int").
constexpr void put_builtin(Writer& w, int longs, bool is_unsigned, bool is_signed, bool is_short,
                           bool is_char, bool is_double) {
  if (is_double) {
    w.put(longs > 0 ? "long double" : "double");
  } else if (is_char) {
    w.put(is_unsigned ? "unsigned char" : is_signed ? "signed char" : "char");
  } else {
    if (is_unsigned) w.put("unsigned ");
    w.put(is_short ? "short" : longs >= 2 ? "long long" : longs == 1 ? "long" : "int");
  }
}

// Whether the template argument `rest` starts with is one the standard containers default, which
// g++ writes out in some places (inside std::variant) and not in others: the type is the same.
constexpr bool default_argument(std::string_view rest) {
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  for (std::string_view d :
       {"std::allocator<", "std::char_traits<", "std::less<", "std::hash<", "std::equal_to<"}) {
    if (rest.starts_with(d)) return true;
  }
  return false;
}

// Where the template argument that starts at `from` ends (its ',' or the list's '>').
constexpr std::size_t argument_end(std::string_view name, std::size_t from) {
  int depth = 0;
  for (std::size_t i = from; i < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    if (name[i] == '>' && depth-- == 0) return i;
    if (name[i] == ',' && depth == 0) return i;
  }
  return name.size();
}

// Writes the canonical spelling of `name` (never longer than `name`) to `out`.
constexpr void canonicalize(std::string_view name, char* out, std::size_t& size) {
  Writer w(out, size);
  std::size_t i = 0;
  const std::size_t n = name.size();
  auto word_at = [&](std::size_t from) {
    std::size_t to = from;
    while (to < n && word_char(name[to])) ++to;
    return name.substr(from, to - from);
  };
  while (i < n) {
    const char c = name[i];
    if (word_char(c)) {
      std::string_view word = word_at(i);
      if ((word == "__cxx11" || word == "__1") && name.substr(i + word.size(), 2) == "::") {
        i += word.size() + 2;  // libstdc++'s and libc++'s inline namespaces
        continue;
      }
      if (!builtin_word(word)) {
        if (word_char(w.last())) w.put(" ");
        w.put(word);
        i += word.size();
        continue;
      }
      int longs = 0;
      bool is_unsigned = false, is_signed = false, is_short = false, is_char = false,
           is_double = false;
      for (;;) {
        longs += word == "long";
        is_unsigned |= word == "unsigned";
        is_signed |= word == "signed";
        is_short |= word == "short";
        is_char |= word == "char";
        is_double |= word == "double";
        i += word.size();
        if (i + 1 >= n || name[i] != ' ' || !builtin_word(word_at(i + 1))) break;
        word = word_at(++i);
      }
      if (word_char(w.last())) w.put(" ");
      put_builtin(w, longs, is_unsigned, is_signed, is_short, is_char, is_double);
    } else if (c == ',' && default_argument(name.substr(i + 1))) {
      i = argument_end(name, i + 1);
    } else if (name.substr(i).starts_with("{anonymous}")) {  // g++
      w.put("(anonymous)");
      i += 11;
    } else if (name.substr(i).starts_with("(anonymous namespace)")) {  // clang++
      w.put("(anonymous)");
      i += 21;
    } else {
      if (c != ' ') w.put(std::string_view(&name[i], 1));
      ++i;
    }
  }
}

// The part of a signature that names T.
constexpr std::string_view named_type(std::string_view signature) {
  const std::size_t at = signature.find("T = ");
  if (at == std::string_view::npos) return signature;
  signature.remove_prefix(at + 4);
  std::size_t end = signature.find(';');
  if (end == std::string_view::npos) end = signature.rfind(']');
  return signature.substr(0, end);
}

template <std::size_t N>
struct Fixed {
  char text[N == 0 ? 1 : N] = {};
  std::size_t size = 0;
  constexpr std::string_view view() const { return {text, size}; }
};

template <class T>
constexpr auto canonical() {
  constexpr std::string_view named = named_type(type_signature<T>());
  Fixed<named.size()> out;
  canonicalize(named, out.text, out.size);
  return out;
}

template <class T>
inline constexpr auto kCanonical = canonical<T>();

}  // namespace type_names

// "int", "std::map<std::basic_string<char>,long>": T's canonical spelling.
template <class T>
constexpr std::string_view canonical_type_name() {
  return type_names::kCanonical<T>.view();
}

// FNV-1a over the canonical spelling: the tag that guards every message against a wrong-type
// read.
template <class T>
constexpr std::uint64_t type_tag() {
  return fnv1a(canonical_type_name<T>());
}

// A canonical spelling for messages: std::string for std::basic_string<char>, a space after
// each comma.
inline std::string readable_type_name(std::string_view canonical) {
  std::string out;
  while (!canonical.empty()) {
    if (canonical.starts_with("std::basic_string<char>")) {
      out += "std::string";
      canonical.remove_prefix(23);
      continue;
    }
    out += canonical.front();
    if (canonical.front() == ',') out += ' ';
    canonical.remove_prefix(1);
  }
  return out;
}

template <class T>
std::string type_name() {
  return readable_type_name(canonical_type_name<T>());
}

}  // namespace mp::detail
