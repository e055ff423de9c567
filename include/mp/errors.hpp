// mp/errors.hpp — the exception hierarchy, mirroring Python's multiprocessing exceptions.
//
//   try { auto v = q.get(std::chrono::seconds(1)); }
//   catch (const mp::Empty&) { ... }          // Python: queue.Empty
//   catch (const mp::Error& e) { ... }        // any mp error
//
// Every mp error derives from mp::Error, itself a std::runtime_error. Failures of the operating
// system are std::system_error with errno intact, never wrapped.
//
// Differences from Python: misuse that Python reports with ValueError or AssertionError
// (releasing an unheld lock, over-releasing a BoundedSemaphore) throws mp::ValueError.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

#define MP_DEFINE_ERROR(Name, Base) \
  class Name : public Base {        \
   public:                          \
    using Base::Base;               \
  }

MP_DEFINE_ERROR(ProcessError, Error);  // misuse of a Process, or a failed start
MP_DEFINE_ERROR(ValueError, Error);    // an invalid argument or state (Python's ValueError)
MP_DEFINE_ERROR(TypeError, Error);     // a value of the wrong type (Python's TypeError)
MP_DEFINE_ERROR(AuthenticationError, ProcessError);
MP_DEFINE_ERROR(TimeoutError, Error);
MP_DEFINE_ERROR(Empty, Error);     // queue.Empty
MP_DEFINE_ERROR(Full, Error);      // queue.Full
MP_DEFINE_ERROR(EOFError, Error);  // the peer closed the channel
MP_DEFINE_ERROR(BrokenBarrierError, Error);
MP_DEFINE_ERROR(BrokenProcessPool, Error);
MP_DEFINE_ERROR(CancelledError, Error);
MP_DEFINE_ERROR(ProtocolError, Error);  // undecodable or wrongly typed bytes

#undef MP_DEFINE_ERROR

// recv_bytes_into() was given a buffer smaller than the message; the message travels here.
class BufferTooShort : public ProcessError {
 public:
  BufferTooShort(const std::string& what, std::vector<std::byte> message)
      : ProcessError(what), message_(std::move(message)) {}
  const std::vector<std::byte>& message() const noexcept { return message_; }

 private:
  std::vector<std::byte> message_;
};

// An exception raised in another process, rethrown here: carries the original type and what().
class RemoteError : public Error {
 public:
  RemoteError(std::string type_name, const std::string& what)
      : Error(type_name + ": " + what), type_name_(std::move(type_name)) {}
  const std::string& type_name() const noexcept { return type_name_; }

 private:
  std::string type_name_;
};

// The worker that ran a task died (signal, abort, exit); the pool itself carries on.
class WorkerCrashed : public BrokenProcessPool {
 public:
  WorkerCrashed(int pid, int exitcode, const std::string& what)
      : BrokenProcessPool(what), pid_(pid), exitcode_(exitcode) {}
  int pid() const noexcept { return pid_; }
  // As Process::exitcode(): -N after signal N.
  int exitcode() const noexcept { return exitcode_; }

 private:
  int pid_;
  int exitcode_;
};

}  // namespace mp
