// runtime/outcome.hpp — how a call made in another process came out, as bytes: its result, or
// the exception it threw (runtime/exception_info.hpp). A Pool worker's results and a Manager's
// responses both travel this way:
//
//   [ok | type size | what size | reserved] (four u32) [type] [what] [result]
#pragma once

#include <cstddef>
#include <exception>
#include <span>
#include <vector>

#include "runtime/exception_info.hpp"

namespace mp::runtime {

// Appends an outcome to `out`: a failure when `error` is given, else a success with `result`.
void append_outcome(std::vector<std::byte>& out, const ExceptionInfo* error,
                    std::span<const std::byte> result);
// Appends a success's header alone: what is appended after it is the result. Lets a result be
// encoded in place instead of copied in.
void append_success_header(std::vector<std::byte>& out);

struct Outcome {
  std::span<const std::byte> result;  // into the bytes read; empty on failure
  std::exception_ptr error;           // the exception rebuilt (rebuild_exception); null on success
};

// Throws ProtocolError when `bytes` do not hold an outcome.
Outcome read_outcome(std::span<const std::byte> bytes);

}  // namespace mp::runtime
