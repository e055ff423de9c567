// The error names the innermost type that cannot be encoded, not the optional around it.
// expect-error: static assertion failed: mp: 
// expect-error: encodable<NonEncodable>::value. evaluates to false
#include <optional>
#include <string>

#include "mp/queues.hpp"

struct NonEncodable {
  std::string s;  // not trivially copyable, and no serialize()
};

int main() {
  mp::Queue<std::optional<NonEncodable>> q;
  q.put(std::nullopt);
}
