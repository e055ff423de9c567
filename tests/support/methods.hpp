// tests/support/methods.hpp — one body of tests under every start method, as CPython runs its
// multiprocessing suite under fork, spawn and forkserver.
//
//   class LockTest : public mp::testing::MethodTest {};
//   MP_INSTANTIATE_FOR_EVERY_METHOD(LockTest);
//   TEST_P(LockTest, ...) { auto p = ctx().Process(target, handles...); ... }
//
// Targets must be what every method can run: function pointers or captureless lambdas, with the
// shared objects passed as arguments (handles travel with their descriptors), not captured.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "mp/context.hpp"
#include "support/leak_check.hpp"

namespace mp::testing {

class MethodTest : public LeakCheckedTest, public ::testing::WithParamInterface<StartMethod> {
 protected:
  Context ctx() const { return get_context(GetParam()); }
  bool forked() const { return GetParam() == StartMethod::fork; }
};

inline std::string method_name(const ::testing::TestParamInfo<StartMethod>& info) {
  return to_string(info.param);
}

}  // namespace mp::testing

#define MP_INSTANTIATE_FOR_EVERY_METHOD(Suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(Methods, Suite,                                                      \
                           ::testing::Values(::mp::StartMethod::fork, ::mp::StartMethod::spawn, \
                                             ::mp::StartMethod::forkserver),                    \
                           ::mp::testing::method_name)
