// Reads the lines encode_values printed (standard input) and decodes each as the type of its
// value in values.hpp: a wrong type tag or encoding fails, naming the value. Exit 0 when every
// value came back equal.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "mp/codec.hpp"
#include "values.hpp"

namespace {

std::vector<std::byte> from_hex(const std::string& line) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < line.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(line.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace

int main() {
  int failures = 0;
  int count = 0;
  cross::each_value([&](const char* name, const auto& value) {
    ++count;
    std::string line;
    if (!std::getline(std::cin, line)) {
      std::printf("%s: no line (the encoding program stopped early)\n", name);
      ++failures;
      return;
    }
    using T = std::decay_t<decltype(value)>;
    try {
      if (mp::decode<T>(from_hex(line)) != value) {
        std::printf("%s: decoded to another value\n", name);
        ++failures;
      }
    } catch (const std::exception& e) {
      std::printf("%s: %s\n", name, e.what());
      ++failures;
    }
  });
  std::printf("%d of %d values decoded equal\n", count - failures, count);
  return failures == 0 ? 0 : 1;
}
