#include <string>

#include "mp/codec.hpp"

namespace mp::detail {

void throw_wrong_type() {
  throw ProtocolError("message holds a value of another type than the one asked for");
}

void throw_bad_message(const char* what) {
  throw ProtocolError(std::string("malformed message: ") + what);
}

}  // namespace mp::detail
