// A std::string_view holds an address: a Queue of them is refused, naming string_view.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::basic_string_view<char> ?>. evaluates to false
#include <string_view>

#include "mp/queues.hpp"

int main() {
  mp::Queue<std::string_view> q;
  q.put(std::string_view("text"));
}
