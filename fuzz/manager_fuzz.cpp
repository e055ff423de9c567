// fuzz/manager_fuzz.cpp — libFuzzer target: requests into a manager's server (without sockets).
// Half the inputs are raw bytes for the request decoder; the other half are built field by
// field, so that well-formed requests reach every operation of every kind with values of the
// right type, the wrong type, or no valid encoding at all. The server must answer each with a
// reply or an exception, never crash (ASan, UBSan) or block (nothing waits: max_wait is 0).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/manager_protocol.hpp"
#include "services/manager/server.hpp"

namespace {

using namespace mp::detail::manager;

Server& server() {
  static std::unique_ptr<Server> s;
  static int uses = 0;
  if (!s || ++uses > 5000) {  // bounded state: a fresh server now and then
    ServerOptions options;
    options.max_wait = std::chrono::nanoseconds(0);
    options.grace = std::chrono::nanoseconds(0);
    s = std::make_unique<Server>(options);
    uses = 0;
  }
  return *s;
}

mp::detail::manager::Bytes value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      return mp::encode(in.ConsumeIntegral<int>());
    case 1:
      return mp::encode(in.ConsumeRandomLengthString(16));
    case 2:
      return mp::encode(in.ConsumeFloatingPoint<double>());
    case 3:
      return mp::encode(in.ConsumeIntegral<long>());
    default: {
      auto raw = in.ConsumeBytes<std::byte>(in.ConsumeIntegralInRange<std::size_t>(0, 24));
      return raw;
    }
  }
}

TypeDesc type(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return type_desc<int>();
    case 1:
      return type_desc<std::string>();
    case 2:
      return type_desc<double>();
    default:
      return type_desc<long>();
  }
}

Request structured(FuzzedDataProvider& in) {
  Request r;
  r.client = in.ConsumeIntegralInRange<std::uint64_t>(0, 3);
  r.thread = in.ConsumeIntegralInRange<std::uint64_t>(0, 3);
  r.op = static_cast<Op>(in.ConsumeIntegralInRange<int>(0, static_cast<int>(Op::last) + 1));
  r.object = in.ConsumeIntegralInRange<std::uint64_t>(0, 40);
  if (in.ConsumeBool()) r.increfs.push_back(in.ConsumeIntegralInRange<std::uint64_t>(0, 40));
  if (in.ConsumeBool()) r.decrefs.push_back(in.ConsumeIntegralInRange<std::uint64_t>(0, 40));
  for (int n = in.ConsumeIntegralInRange<int>(0, 3); n > 0; --n) r.types.push_back(type(in));
  for (int n = in.ConsumeIntegralInRange<int>(0, 4); n > 0; --n) r.values.push_back(value(in));
  r.text = in.ConsumeRandomLengthString(8);
  r.number = in.ConsumeIntegralInRange<std::int64_t>(-3, 16);
  r.count = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::int64_t>(-2, 64)
                             : static_cast<std::int64_t>(
                                   in.PickValueInArray({'+', '-', '*', '/', '%', '&', '|', '^'}));
  r.timeout_ns = in.ConsumeIntegralInRange<std::int64_t>(-1, 0);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  try {
    if (in.ConsumeBool()) {
      const auto bytes = in.ConsumeRemainingBytes<std::byte>();
      server().handle(std::span<const std::byte>(bytes));
    } else {
      const Request r = structured(in);
      if (r.op != Op::shutdown) server().handle(r);
      if (in.ConsumeBool()) server().client_gone(r.client);
    }
  } catch (const std::exception&) {
    // An error reply: what a malformed or refused request gets.
  }
  return 0;
}
