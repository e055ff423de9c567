// tests/support/test_main.cpp — the main of every test binary: GoogleTest's, after the line that
// lets spawn and forkserver re-execute the binary to run a child (see mp/context.hpp).
#include <gtest/gtest.h>

#include "mp/context.hpp"

int main(int argc, char** argv) {
  mp::freeze_support();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
