// Prints the message mp::encode makes of each value of values.hpp, one line of hex each. Built
// by the other compiler (clang++ beside g++) for the cross-compiler test.
#include <cstdio>

#include "mp/codec.hpp"
#include "values.hpp"

int main() {
  cross::each_value([](const char*, const auto& value) {
    for (std::byte b : mp::encode(value)) std::printf("%02x", static_cast<unsigned>(b));
    std::printf("\n");
  });
  return 0;
}
