// tests/type_name_test.cpp — the canonical spelling of a type: what g++ and clang++ print for the
// same type canonicalizes to one spelling, two types to two, never longer than the input.
// The inputs are the compilers' own __PRETTY_FUNCTION__ spellings (g++ 12, clang++ 14); the
// cross_compiler test checks the same with both compilers at work.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "mp/detail/type_name.hpp"

namespace {

std::string canonical(std::string_view spelling) {
  std::string out(spelling.size(), '\0');
  std::size_t size = 0;
  mp::detail::type_names::canonicalize(spelling, out.data(), size);
  EXPECT_LE(size, spelling.size()) << spelling;
  out.resize(size);
  return out;
}

struct Spellings {
  std::string_view gcc;
  std::string_view clang;
};

TEST(TypeNameTest, WhatBothCompilersPrintForOneTypeIsOneSpelling) {
  for (const Spellings& s : std::initializer_list<Spellings>{
           // std::chrono::minutes: clang++ writes the ratio's default denominator.
           {"std::chrono::duration<long int, std::ratio<60> >",
            "std::chrono::duration<long, std::ratio<60, 1>>"},
           // g++ writes the duration's default period when it was written out.
           {"std::chrono::duration<double, std::ratio<1> >", "std::chrono::duration<double>"},
           // libstdc++'s clocks are in the inline namespace _V2.
           {"std::chrono::time_point<std::chrono::_V2::system_clock, std::chrono::duration<long "
            "int, std::ratio<1, 1000000000> > >",
            "std::chrono::time_point<std::chrono::system_clock, std::chrono::duration<long, "
            "std::ratio<1, 1000000000>>>"},
           {"__int128 unsigned", "unsigned __int128"},
           {"std::tuple<__int128, long unsigned int>", "std::tuple<__int128, unsigned long>"},
           // g++ writes the containers' default arguments inside std::variant.
           {"std::variant<std::map<std::__cxx11::basic_string<char, std::char_traits<char>, "
            "std::allocator<char> >, std::vector<long int, std::allocator<long int> >, "
            "std::less<std::__cxx11::basic_string<char, std::char_traits<char>, "
            "std::allocator<char> > >, std::allocator<std::pair<const "
            "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, "
            "std::vector<long int, std::allocator<long int> > > > >, "
            "std::set<std::__cxx11::basic_string<char, std::char_traits<char>, "
            "std::allocator<char> >, std::less<std::__cxx11::basic_string<char, "
            "std::char_traits<char>, std::allocator<char> > >, "
            "std::allocator<std::__cxx11::basic_string<char, std::char_traits<char>, "
            "std::allocator<char> > > > >",
            "std::variant<std::map<std::basic_string<char>, std::vector<long>>, "
            "std::set<std::basic_string<char>>>"},
       }) {
    EXPECT_EQ(canonical(s.gcc), canonical(s.clang)) << s.gcc;
  }
}

TEST(TypeNameTest, TwoTypesAreTwoSpellings) {
  // A comparison or allocator argument is left out only when it is the container's default.
  EXPECT_NE(canonical("std::map<std::__cxx11::basic_string<char>, int, std::less<void> >"),
            canonical("std::map<std::__cxx11::basic_string<char>, int>"));
  EXPECT_NE(canonical("std::set<long int, std::less<int> >"), canonical("std::set<long int>"));
  EXPECT_NE(canonical("std::tuple<int, std::hash<int> >"), canonical("std::tuple<int>"));
  EXPECT_NE(canonical("std::ratio<1, 2>"), canonical("std::ratio<1>"));
  // Never longer: "unsigned" before a word that is no builtin's stays "unsigned".
  EXPECT_EQ(canonical("unsigned _BitInt(8)"), "unsigned _BitInt(8)");
  // A space or a comma in a character argument is part of it.
  EXPECT_EQ(canonical("Char<' '>"), "Char<' '>");
  EXPECT_EQ(canonical("Pair<',', ' '>"), "Pair<',',' '>");
  EXPECT_EQ(canonical("Key<Fs<5>{\"a  b\"}>"), "Key<Fs<5>{\"a  b\"}>");
  EXPECT_EQ(canonical("Key<Fs<5>{\"a\\\" b\"}>"), "Key<Fs<5>{\"a\\\" b\"}>");
}

template <char A, char B>
struct CharPair {};

// g++ writes "[with T = <type>; std::string_view = ...]": the type's own ';' is not its end.
TEST(TypeNameTest, ASemicolonInATypeIsPartOfIt) {
  using mp::detail::type_tag;
  EXPECT_NE((type_tag<CharPair<';', 'a'>>()), (type_tag<CharPair<';', 'b'>>()));
  const std::string_view name = mp::detail::canonical_type_name<CharPair<';', 'a'>>();
  EXPECT_TRUE(name.ends_with("<';','a'>")) << name;
}

TEST(TypeNameTest, TheTagsOfTypesFromTheStandardLibraryDiffer) {
  using mp::detail::type_tag;
  EXPECT_NE((type_tag<std::map<std::string, int>>()),
            (type_tag<std::map<std::string, int, std::less<>>>()));
  EXPECT_NE(type_tag<std::chrono::minutes>(), type_tag<std::chrono::seconds>());
  EXPECT_EQ(mp::detail::canonical_type_name<std::chrono::minutes>(),
            "std::chrono::duration<long,std::ratio<60>>");
  EXPECT_EQ(mp::detail::canonical_type_name<unsigned __int128>(), "unsigned __int128");
}

}  // namespace
