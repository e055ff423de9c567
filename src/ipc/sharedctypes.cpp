#include "mp/sharedctypes.hpp"

#include "mp/detail/archive.hpp"
#include "shm/robust_lock.hpp"

namespace mp::detail {

static_assert(sizeof(shm::LockState) == kLockStateSize);
static_assert(alignof(shm::LockState) <= kLockStateSize);

SharedRef<shm::LockState> lock_at_start(const std::shared_ptr<Segment>& segment) noexcept {
  return SharedRef<shm::LockState>{segment, new (segment->data()) shm::LockState()};
}

SharedRef<shm::LockState> lock_in(const std::shared_ptr<Segment>& segment) noexcept {
  return SharedRef<shm::LockState>{segment, reinterpret_cast<shm::LockState*>(segment->data())};
}

void save_lock_kind(OutputArchive& ar, bool own) {
  ar(own);
}
bool load_lock_kind(InputArchive& ar) {
  bool own = true;
  ar(own);
  return own;
}
void save_given_lock(OutputArchive& ar, const RLock& lock) {
  ar(lock);
}
void load_given_lock(InputArchive& ar, RLock& into) {
  ar(into);
}

}  // namespace mp::detail
