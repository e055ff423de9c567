#include "mp/sharedctypes.hpp"

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

}  // namespace mp::detail
