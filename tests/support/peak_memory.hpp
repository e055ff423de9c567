// tests/support/peak_memory.hpp — how far a process's peak resident set (VmHWM) rose, for tests
// that bound the memory a large message costs.
#pragma once

#include <fstream>
#include <string>

namespace mp::testing {

// Under ThreadSanitizer every byte of memory has shadow bytes that count in the resident set
// too, so a peak says nothing about the program's own memory: the tests that bound it skip.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kPeaksMeanSomething = false;
#else
inline constexpr bool kPeaksMeanSomething = true;
#endif

// This process's resident set, in bytes, after lowering its peak to it (Linux 4.0 and later);
// -1 where the kernel refuses to reset the peak.
inline double reset_peak_resident() {
  std::ofstream("/proc/self/clear_refs") << "5";
  double rss = -1, peak = -1;
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) peak = std::stod(line.substr(6)) * 1024;
  }
  return peak >= 0 && peak <= rss + (1 << 20) ? rss : -1;
}

// How far this process's peak resident set rose above `base`, in bytes (shared pages count).
inline double peak_rise(double base) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024 - base;
  }
  return -1;
}

}  // namespace mp::testing
