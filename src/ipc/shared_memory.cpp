#include "mp/shared_memory.hpp"

#include <cereal/types/string.hpp>

#include <system_error>

#include "mp/detail/archive.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "mp/errors.hpp"
#include "runtime/resource_tracker.hpp"
#include "sys/memory.hpp"
#include "sys/thread_id.hpp"

namespace mp {

struct SharedMemory::State {
  std::string name;  // without '/'
  sys::Mapping mapping;
  std::size_t size = 0;
  bool owner = false;  // this process created it and unlinks it
  int owner_pid = 0;
  bool unlinked = false;

  ~State() {
    sys::unmap(mapping);
    // Only in the creating process: a forked child's copy of the handle must not unlink.
    if (owner && !unlinked && owner_pid == sys::this_pid()) {
      sys::unlink_named("/" + name);
      runtime::untrack_shm_name(name);
    }
  }
};

namespace {

std::string checked_name(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  if (name.empty() || name.size() > 250 || name.find('/') != std::string::npos) {
    throw ValueError("invalid shared memory name '" + name + "'");
  }
  return name;
}

// "mp-<creator pid>-<16 random hex digits>": unguessable, and a leaked block names its creator.
std::string random_name() {
  const std::string random = sys::random_hex(8);
  if (random.empty()) throw Error("no random bytes for a shared memory name");
  return "mp-" + std::to_string(sys::this_pid()) + "-" + random;
}

}  // namespace

SharedMemory::SharedMemory() : state_(std::make_shared<State>()) {}

void SharedMemory::save(detail::OutputArchive& ar) const {
  if (state_->mapping.addr == nullptr) {
    throw ValueError("a closed mp::SharedMemory cannot be passed");
  }
  const std::uint32_t index = detail::pass_fd(state_->mapping.fd.get(), "mp::SharedMemory");
  ar(index, state_->name, static_cast<std::uint64_t>(state_->size));
}

void SharedMemory::load(detail::InputArchive& ar) {
  std::uint32_t index = 0;
  std::string name;
  std::uint64_t size = 0;
  ar(index, name, size);
  auto state = std::make_shared<State>();
  try {
    state->name = checked_name(std::move(name));
  } catch (const ValueError& e) {
    throw ProtocolError(e.what());
  }
  sys::UniqueFd fd(detail::take_fd(index));
  if (int err = sys::map_passed(fd.get(), state->mapping); err != 0) {
    if (err == EINVAL) throw ProtocolError("a descriptor passed as shared memory is not one");
    throw std::system_error(err, std::generic_category(), "mapping passed shared memory");
  }
  if (size == 0 || size > state->mapping.size) {
    throw ProtocolError("a SharedMemory's size does not fit its memory");
  }
  state->size = static_cast<std::size_t>(size);
  state_ = std::move(state);  // attached, not created: never unlinks
}

SharedMemory SharedMemory::create(std::size_t size, std::string name, bool track) {
  if (size == 0) throw ValueError("shared memory size must be positive");
  auto state = std::make_shared<State>();
  for (int attempt = 0;; ++attempt) {
    state->name = name.empty() ? random_name() : checked_name(name);
    int err = sys::map_named_create("/" + state->name, size, state->mapping);
    if (err == 0) break;
    if (err == EEXIST && name.empty() && attempt < 8) continue;  // a random name collided
    throw std::system_error(err, std::generic_category(), "shm_open " + state->name);
  }
  state->size = size;
  state->owner = track;
  state->owner_pid = sys::this_pid();
  // Should this process die before unlinking, the tracker does it.
  if (track) runtime::track_shm_name(state->name);
  return SharedMemory(std::move(state));
}

SharedMemory SharedMemory::attach(std::string name) {
  auto state = std::make_shared<State>();
  state->name = checked_name(std::move(name));
  if (int err = sys::map_named_attach("/" + state->name, state->mapping); err != 0) {
    throw std::system_error(err, std::generic_category(), "shm_open " + state->name);
  }
  state->size = state->mapping.size;
  return SharedMemory(std::move(state));
}

const std::string& SharedMemory::name() const noexcept {
  return state_->name;
}
std::size_t SharedMemory::size() const noexcept {
  return state_->size;
}

std::span<std::byte> SharedMemory::buf() const {
  if (state_->mapping.addr == nullptr) throw ValueError("shared memory block is closed");
  return {static_cast<std::byte*>(state_->mapping.addr), state_->size};
}

void SharedMemory::close() noexcept {
  sys::unmap(state_->mapping);
}

void SharedMemory::disown() noexcept {
  if (!state_->owner) return;
  state_->owner = false;
  runtime::untrack_shm_name(state_->name);
}

void SharedMemory::unlink() {
  if (state_->unlinked) return;
  int err = sys::unlink_named("/" + state_->name);
  if (err != 0 && err != ENOENT)
    throw std::system_error(err, std::generic_category(), "shm_unlink");
  state_->unlinked = true;
  runtime::untrack_shm_name(state_->name);
}

}  // namespace mp
