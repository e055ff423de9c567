#include "runtime/exception_info.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <functional>
#include <new>
#include <stdexcept>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "mp/errors.hpp"

namespace mp::runtime {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = (status == 0 && out != nullptr) ? out : name;
  std::free(out);
  return result;
}

template <class E>
std::exception_ptr make(const std::string& what) {
  return std::make_exception_ptr(E(what));
}

}  // namespace

ExceptionInfo describe_current_exception() noexcept {
  ExceptionInfo info;
  try {
    info.type = "unknown exception";
    try {
      throw;
    } catch (const std::exception& e) {
      info.type = demangle(typeid(e).name());
      info.what = e.what();
    } catch (...) {
      if (const std::type_info* t = abi::__cxa_current_exception_type()) {
        info.type = demangle(t->name());
      }
    }
  } catch (...) {
    // Out of memory while describing: what was filled in stays.
  }
  return info;
}

std::exception_ptr rebuild_exception(const ExceptionInfo& info) {
  using Factory = std::exception_ptr (*)(const std::string&);
  static const std::pair<std::string_view, Factory> kStandard[] = {
      {"std::logic_error", make<std::logic_error>},
      {"std::invalid_argument", make<std::invalid_argument>},
      {"std::domain_error", make<std::domain_error>},
      {"std::length_error", make<std::length_error>},
      {"std::out_of_range", make<std::out_of_range>},
      {"std::runtime_error", make<std::runtime_error>},
      {"std::range_error", make<std::range_error>},
      {"std::overflow_error", make<std::overflow_error>},
      {"std::underflow_error", make<std::underflow_error>},
  };
  for (const auto& [name, factory] : kStandard) {
    if (info.type == name) return factory(info.what);
  }
  // mp's own errors keep their type across processes (a manager's Empty, a task's ValueError).
  static const std::pair<std::string_view, Factory> kOurs[] = {
      {"mp::ValueError", make<ValueError>},
      {"mp::TypeError", make<TypeError>},
      {"mp::TimeoutError", make<TimeoutError>},
      {"mp::Empty", make<Empty>},
      {"mp::Full", make<Full>},
      {"mp::EOFError", make<EOFError>},
      {"mp::BrokenBarrierError", make<BrokenBarrierError>},
      {"mp::ProtocolError", make<ProtocolError>},
  };
  for (const auto& [name, factory] : kOurs) {
    if (info.type == name) return factory(info.what);
  }
  if (info.type == "std::bad_alloc") return std::make_exception_ptr(std::bad_alloc());
  return std::make_exception_ptr(RemoteError(info.type, info.what));
}

}  // namespace mp::runtime
