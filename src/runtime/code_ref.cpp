// runtime/code_ref.cpp — naming code by (build id, offset) and finding it again.
//
// The table of loaded objects is read once and read again when an address or a build is not in
// it (a library loaded since). A table that replaced another is kept, never freed: a reader may
// still hold the old one. Only a changed table replaces the current one, so the tables kept are
// as many as the times libraries were loaded, however often lookups miss.
#include "mp/detail/code_ref.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mp/errors.hpp"
#include "sys/loaded_objects.hpp"

namespace mp::detail {

namespace {

struct Object {
  std::uint64_t build;
  std::uintptr_t base;
  std::string name;
  std::vector<sys::CodeRange> code;
};

using Table = std::vector<Object>;

// An object without a build-id note (linked with --build-id=none) is named by a hash of its
// name and the shape of its code: weaker, but it still tells most different builds apart.
std::uint64_t fallback_build(const sys::LoadedObject& o) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  mix(o.name.data(), o.name.size());
  for (const auto& r : o.code) {
    const std::uintptr_t rel[2] = {r.begin - o.base, r.end - o.base};
    mix(rel, sizeof rel);
  }
  return h;
}

const Table* read_table() {
  auto* t = new Table();
  for (auto& o : sys::loaded_objects()) {
    if (o.code.empty()) continue;
    std::uint64_t build = 0;
    if (o.build_id.empty()) {
      build = fallback_build(o);
    } else {
      std::memcpy(&build, o.build_id.data(), std::min(sizeof build, o.build_id.size()));
    }
    t->push_back({build, o.base, std::move(o.name), std::move(o.code)});
  }
  return t;
}

std::atomic<const Table*> g_table{nullptr};
std::mutex g_refresh;
std::vector<std::unique_ptr<const Table>>* g_retired = nullptr;  // guarded by g_refresh

bool same_objects(const Table& a, const Table& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Object& x, const Object& y) {
    return x.build == y.build && x.base == y.base && x.code.size() == y.code.size();
  });
}

const Table& table() {
  const Table* t = g_table.load(std::memory_order_acquire);
  if (t != nullptr) return *t;
  std::lock_guard lock(g_refresh);
  t = g_table.load(std::memory_order_relaxed);
  if (t == nullptr) g_table.store(t = read_table(), std::memory_order_release);
  return *t;
}

// Reads the table again, unless another thread already did since `seen`.
const Table& refresh(const Table* seen) {
  std::lock_guard lock(g_refresh);
  const Table* t = g_table.load(std::memory_order_relaxed);
  if (t != seen) return *t;
  std::unique_ptr<const Table> fresh(read_table());
  if (same_objects(*fresh, *t)) return *t;  // nothing was loaded: the miss is a real one
  if (g_retired == nullptr) g_retired = new std::vector<std::unique_ptr<const Table>>();
  g_retired->emplace_back(t);
  t = fresh.release();
  g_table.store(t, std::memory_order_release);
  return *t;
}

bool contains(const Object& o, std::uintptr_t a) {
  return std::any_of(o.code.begin(), o.code.end(),
                     [a](const sys::CodeRange& r) { return a >= r.begin && a < r.end; });
}

const Object* object_at(const Table& t, std::uintptr_t a) {
  for (const auto& o : t) {
    if (contains(o, a)) return &o;
  }
  return nullptr;
}

const Object* object_of(const Table& t, std::uint64_t build) {
  for (const auto& o : t) {
    if (o.build == build) return &o;
  }
  return nullptr;
}

std::string hex(std::uint64_t build) {
  char text[17];
  const auto* b = reinterpret_cast<const unsigned char*>(&build);
  for (int i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02x", b[i]);
  return text;
}

}  // namespace

CodeRef code_ref(const void* address) {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  const Table* t = &table();
  const Object* o = object_at(*t, a);
  if (o == nullptr) o = object_at(refresh(t), a);
  if (o == nullptr) {
    throw ProcessError(
        "mp: a function to run in another process is not in any loaded program or "
        "library (it may be code generated at run time)");
  }
  return CodeRef{o->build, a - o->base};
}

const void* resolve_code(const CodeRef& ref) {
  const Table* t = &table();
  const Object* o = object_of(*t, ref.build);
  if (o == nullptr) o = object_of(refresh(t), ref.build);
  if (o == nullptr) {
    throw ProcessError("mp: the code to run comes from build " + hex(ref.build) +
                       ", but this process runs build " + hex(executable_build()) +
                       " and has no library of that build loaded: run the same binary on both "
                       "sides");
  }
  const std::uintptr_t a = o->base + ref.offset;
  if (ref.offset >= UINTPTR_MAX - o->base || !contains(*o, a)) {
    throw ProcessError("mp: the code to run names offset " + std::to_string(ref.offset) +
                       ", which is outside the code of build " + hex(ref.build));
  }
  return reinterpret_cast<const void*>(a);
}

std::uint64_t executable_build() noexcept {
  try {
    const Table& t = table();
    for (const auto& o : t) {
      if (o.name.empty()) return o.build;
    }
  } catch (...) {
  }
  return 0;
}

}  // namespace mp::detail
