// Connection::send of a std::string_view is refused, naming string_view.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::basic_string_view<char> ?>. evaluates to false
#include <string_view>

#include "mp/connection.hpp"

int main() {
  auto [a, b] = mp::Pipe();
  a.send(std::string_view("text"));
}
