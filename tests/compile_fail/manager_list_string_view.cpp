// A Manager's list of std::string_view is refused, naming string_view.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::basic_string_view<char> ?>. evaluates to false
#include <string_view>

#include "mp/managers.hpp"

int main() {
  mp::Manager manager;
  auto list = manager.list<std::string_view>();
  list.append(std::string_view("text"));
}
