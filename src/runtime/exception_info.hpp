// runtime/exception_info.hpp — an exception as text (to cross a process boundary) and back.
#pragma once

#include <exception>
#include <string>

namespace mp::runtime {

struct ExceptionInfo {
  std::string type;  // demangled, e.g. "std::invalid_argument"
  std::string what;  // empty when the exception is not a std::exception
};

// Describes the exception being handled; call from a catch block. Never throws.
ExceptionInfo describe_current_exception() noexcept;

// The exception to raise for one described by another process: the same standard type with the
// same what() where the type is a standard one (std::invalid_argument, std::out_of_range, ...),
// and mp::RemoteError carrying the type's name otherwise.
std::exception_ptr rebuild_exception(const ExceptionInfo& info);

}  // namespace mp::runtime
