// mp/detail/type_name.hpp — a type's name and tag, the same whichever compiler built the program.
//
// Every message carries its type's tag (mp/codec.hpp), and a manager checks the tags of the
// values its objects hold: two programs that share a queue must agree on them even when one was
// built with g++ and the other with clang++. The compilers spell the same type differently
// (`long int` / `long`, `std::__cxx11::basic_string<char>` / `std::basic_string<char>`,
// `> >` / `>>`), so the tag hashes a canonical spelling: inline namespaces of the standard
// library dropped, builtin integer names in their short form, spaces only between two words,
// default arguments of the standard containers and of std::ratio and std::chrono::duration left
// out (only when they are the defaults: two types never share a spelling).
//
// Not canonical (the compilers' spellings differ and nothing in them tells which is meant): the
// user's own inline namespaces (g++ writes them, clang++ does not), non-type template arguments
// of an `auto` parameter (`5` / `5U`), of a character type other than char (`97` / `'a'`), of a
// class type (`Lit{1, 2}` / `{1, 2}`) or an enum value that names no enumerator. Such types are
// refused across compilers, never confused.
//
// The canonical spelling is never longer than the compiler's: every word written is one of the
// input's (or "int" for "signed"), joined by one character where the input had at least one.
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
         w == "char" || w == "double" || w == "__int128";
}

// The standard libraries' inline namespaces, which g++ prints and clang++ does not. Reserved
// names only: a user's inline namespace cannot be told from an ordinary one in the spelling.
constexpr bool library_inline_namespace(std::string_view w) {
  return w == "__cxx11" || w == "__1" || w == "_V2" || w == "__n4861";
}

// Where the template argument list that holds position `at` opens (its '<'), or npos.
constexpr std::size_t open_bracket(std::string_view name, std::size_t at) {
  int depth = 0;
  while (at-- > 0) {
    if (name[at] == '>') ++depth;
    if (name[at] == '<' && depth-- == 0) return at;
  }
  return std::string_view::npos;
}

class Writer {
 public:
  constexpr Writer(char* out, std::size_t& size) : out_(out), size_(size) {}
  constexpr void put(std::string_view s) {
    for (char c : s) out_[size_++] = c;
  }
  constexpr char last() const { return size_ == 0 ? '\0' : out_[size_ - 1]; }
  // The name of the innermost template whose argument list is open: "std::ratio" in
  // "std::ratio<3600".
  constexpr std::string_view enclosing_template() const {
    const std::size_t at = open_bracket({out_, size_}, size_);
    if (at == std::string_view::npos) return {};
    std::size_t from = at;
    while (from > 0 && (word_char(out_[from - 1]) || out_[from - 1] == ':')) --from;
    return {out_ + from, at - from};
  }

 private:
  char* out_;
  std::size_t& size_;
};

// One builtin type from the words of its name, in any order ("long unsigned int").
constexpr void put_builtin(Writer& w, int longs, bool is_unsigned, bool is_signed, bool is_short,
                           bool is_char, bool is_double, bool is_int128, bool is_int) {
  if (is_int128) {  // g++: "__int128 unsigned", clang++: "unsigned __int128"
    w.put(is_unsigned ? "unsigned __int128" : "__int128");
  } else if (is_double) {
    w.put(longs > 0 ? "long double" : "double");
  } else if (is_char) {
    w.put(is_unsigned ? "unsigned char" : is_signed ? "signed char" : "char");
  } else if (is_unsigned && !is_short && longs == 0 && !is_int) {
    w.put("unsigned");  // before a word that is no builtin's (clang++: unsigned _BitInt(8))
  } else {
    if (is_unsigned) w.put("unsigned ");
    w.put(is_short ? "short" : longs >= 2 ? "long long" : longs == 1 ? "long" : "int");
  }
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

// Takes `part` off the front of `text`, spaces aside: false if `text` does not start with it.
constexpr bool take(std::string_view& text, std::string_view part) {
  for (char c : part) {
    if (c == ' ') continue;
    while (text.starts_with(' ')) text.remove_prefix(1);
    if (!text.starts_with(c)) return false;
    text.remove_prefix(1);
  }
  while (text.starts_with(' ')) text.remove_prefix(1);
  return true;
}

// Whether `a` and `b` are the same but for spaces.
constexpr bool same_but_spaces(std::string_view a, std::string_view b) {
  return take(a, b) && a.empty();
}

// The standard containers, whose allocator, traits, comparison and hash arguments g++ writes
// out in some places (inside std::variant) and not in others.
constexpr bool standard_container(std::string_view name) {
  for (std::string_view c :
       {"std::basic_string", "std::basic_string_view", "std::vector", "std::deque", "std::list",
        "std::forward_list", "std::set", "std::multiset", "std::map", "std::multimap",
        "std::unordered_set", "std::unordered_multiset", "std::unordered_map",
        "std::unordered_multimap"}) {
    if (name == c) return true;
  }
  return false;
}

// Whether the argument of the standard container `enclosing` that follows the ',' at `comma` is
// the one it defaults to: std::allocator<T> (std::allocator<std::pair<const K, V>> in a map),
// std::char_traits<T>, std::less<T>, std::hash<T> or std::equal_to<T> of its first argument T.
// Only then is it left out: std::map<K, V, std::less<>> is another type than std::map<K, V>.
constexpr bool default_argument(std::string_view name, std::size_t comma,
                                std::string_view enclosing) {
  const std::size_t open = open_bracket(name, comma);
  if (!standard_container(enclosing) || open == std::string_view::npos) return false;
  const std::size_t first_end = argument_end(name, open + 1);
  const std::string_view first = name.substr(open + 1, first_end - open - 1);
  std::string_view second;
  if (first_end < name.size() && name[first_end] == ',') {
    second = name.substr(first_end + 1, argument_end(name, first_end + 1) - first_end - 1);
  }
  const std::string_view argument =
      name.substr(comma + 1, argument_end(name, comma + 1) - comma - 1);
  for (std::string_view d :
       {"std::allocator<", "std::char_traits<", "std::less<", "std::hash<", "std::equal_to<"}) {
    std::string_view rest = argument;
    if (!take(rest, d)) continue;
    std::string_view pair = rest;
    if (take(rest, first) && same_but_spaces(rest, ">")) return true;
    if (d == "std::allocator<" && take(pair, "std::pair<const ") && take(pair, first) &&
        take(pair, ",") && take(pair, second) && same_but_spaces(pair, ">>")) {
      return true;
    }
  }
  return false;
}

// Whether the argument after the ',' at `comma`, the last of the template `enclosing`, is its
// default, which one compiler writes and the other not: std::ratio<60, 1> (clang++:
// std::chrono::minutes) is std::ratio<60> (g++), std::chrono::duration<double, std::ratio<1>> (g++)
// is std::chrono::duration<double> (clang++).
constexpr bool default_last_argument(std::string_view name, std::size_t comma,
                                     std::string_view enclosing) {
  if (enclosing != "std::ratio" && enclosing != "std::chrono::duration") return false;
  const std::size_t end = argument_end(name, comma + 1);
  if (end == name.size() || name[end] != '>') return false;  // not the last
  const std::string_view argument = name.substr(comma + 1, end - comma - 1);
  if (enclosing == "std::ratio") return same_but_spaces(argument, "1");
  return same_but_spaces(argument, "std::ratio<1>") || same_but_spaces(argument, "std::ratio<1,1>");
}

// Whether the argument after the ',' at `comma` is one that `enclosing` defaults to.
constexpr bool defaulted(std::string_view name, std::size_t comma, std::string_view enclosing) {
  return default_argument(name, comma, enclosing) || default_last_argument(name, comma, enclosing);
}

// Where the character or string literal that starts at `from` (its opening quote) ends.
constexpr std::size_t literal_end(std::string_view name, std::size_t from) {
  const char quote = name[from];
  std::size_t i = from + 1;
  while (i < name.size() && name[i] != quote) i += name[i] == '\\' ? 2 : 1;
  return i < name.size() ? i + 1 : name.size();
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
      if (library_inline_namespace(word) && name.substr(i + word.size(), 2) == "::") {
        i += word.size() + 2;
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
           is_double = false, is_int128 = false, is_int = false;
      for (;;) {
        longs += word == "long";
        is_unsigned |= word == "unsigned";
        is_signed |= word == "signed";
        is_short |= word == "short";
        is_char |= word == "char";
        is_double |= word == "double";
        is_int128 |= word == "__int128";
        is_int |= word == "int";
        i += word.size();
        if (i + 1 >= n || name[i] != ' ' || !builtin_word(word_at(i + 1))) break;
        word = word_at(++i);
      }
      if (word_char(w.last())) w.put(" ");
      put_builtin(w, longs, is_unsigned, is_signed, is_short, is_char, is_double, is_int128,
                  is_int);
    } else if (c == ',' && defaulted(name, i, w.enclosing_template())) {
      i = argument_end(name, i + 1);
    } else if (c == '\'' || c == '"') {  // a character or string argument, spaces and all
      const std::size_t end = literal_end(name, i);
      w.put(name.substr(i, end - i));
      i = end;
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
  // g++ lists the signature's other names after T's: "...; std::string_view = ...]". Not the
  // first ';', which may be T's own (Pair<';', 'a'>).
  std::size_t end = signature.rfind("; std::string_view = ");
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
