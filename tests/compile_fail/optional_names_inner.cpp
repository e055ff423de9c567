// The error names the innermost type that cannot be encoded, not the optional around it.
// expect-error: static assertion failed: mp: this type cannot cross a process boundary
// expect-error: encodable_v<NonEncodable>. evaluates to false
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mp/codec.hpp"

struct NonEncodable {
  std::string s;  // not trivially copyable, and no serialize()
};

int main() {
  auto bytes = mp::encode(std::vector<std::map<int, std::optional<NonEncodable>>>{});
  (void)bytes;
}
