// A serialize() that writes a std::string_view field is refused where it writes it.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::basic_string_view<char> ?>. evaluates to false
#include <string_view>

#include "mp/codec.hpp"

struct Named {
  std::string_view name;
  int id = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, id);
  }
};

int main() {
  auto bytes = mp::encode(Named{});
  (void)bytes;
}
