// A std::string_view argument to ProcessPoolExecutor::submit is refused, naming string_view.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::basic_string_view<char> ?>. evaluates to false
#include <string_view>

#include "mp/executor.hpp"

std::size_t length(std::string_view s) {
  return s.size();
}

int main() {
  mp::ProcessPoolExecutor executor(2);
  auto future = executor.submit(&length, std::string_view("text"));
  (void)future;
}
