// shm/ring.hpp — the message ring behind mp::Queue: where a Queue message goes.
//
//   put(): encode → [header|payload] copied into the ring under the put lock → tail published
//   get(): under the get lock → record read (decoded in place) → head published
//
// A segment holds this header, then `capacity` bytes of ring (a power of two). Positions are
// 64-bit byte counts that never wrap; a record never wraps either: one that does not fit before
// the end is preceded by a padding record. Records are 4-byte aligned: a 4-byte header, the
// payload (the value without the codec's type tag: the ring's header holds the element type's
// tag once, for the day a queue reaches a process of another program). Messages too large for the
// ring travel as a memfd passed over a Unix socket beside the ring (SCM_RIGHTS); their record only
// names them.
//
// Producers serialize on put_lock and consumers on get_lock. Both are robust (a holder killed
// mid-operation is recovered from) and biased (shm/biased_lock.hpp: a lone producer or consumer
// enters with one atomic instruction and leaves with a plain store), and nothing is published until
// complete, so a producer killed mid-put leaves no partial record and a consumer killed mid-get
// leaves its record for the next consumer.
//
// What keeps a busy queue fast, each measured (bench/channels_benchmark.cpp):
// - One locked instruction per message on each side, not two (the biased locks; positions
//   published with plain release stores): on x86 each waits for the store buffer to drain, so
//   the producer stalls on every cache line the consumer has just read.
// - Each side remembers the other side's position (head_seen, tail_seen) and reads it again only
//   when that runs out; a consumer that caught up looks again after a pause that grows while the
//   producer streams (ipc/queue_core.cpp, wait_while), so the tail's line moves once per batch.
// - While the consumers keep up, the producer starts the next lap early (wrap_early), so a busy
//   queue cycles through the ring's first 64 KiB (or four records of the size being put, if
//   more), which stay in the CPUs' caches.
// - Sleepers set the low bit of a futex sequence word (data_seq, space_seq); the first publish
//   to see it clears it and wakes them, so busy queues make no system calls and a burst of puts
//   wakes a sleeping consumer once. A publish can miss a bit set at that very instant (no fence on
//   the hot path), which is why a sleep right after setting the bit is short.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shm/biased_lock.hpp"

namespace mp::shm {

enum class RecordKind : std::uint32_t { message = 1, large = 2, padding = 3 };

// Four bytes: the kind in the top two bits, the payload length below. Small: an int message is
// one 8-byte record, eight to a cache line.
struct RecordHeader {
  static constexpr std::uint32_t kLengthMask = (1u << 30) - 1;
  std::uint32_t bits;

  static RecordHeader make(RecordKind kind, std::uint64_t length) {
    return {static_cast<std::uint32_t>(kind) << 30 | static_cast<std::uint32_t>(length)};
  }
  RecordKind kind() const { return static_cast<RecordKind>(bits >> 30); }
  std::uint32_t length() const { return bits & kLengthMask; }
};
static_assert(sizeof(RecordHeader) == 4);

struct LargeRecord {  // the payload of a `large` record
  std::uint64_t id;
  std::uint64_t size;
};

struct alignas(64) RingState {
  // Each group on a cache line of its own, so that a side's locked instructions hit a line the
  // other side never reads: the locks and remembered positions are touched by one side only;
  // tail is written by producers and read by consumers, head the other way round.
  alignas(64) BiasedLockState put_lock;
  std::uint64_t next_large_id;  // under put_lock
  std::uint64_t head_seen;      // under put_lock: the last head read (<= head)
  // Under put_lock, a put's intent, written before it touches puts or tail: the tail it will
  // publish and the count before it. A holder that dies between the two leaves intent_tail ahead
  // of tail, and whoever recovers the lock rolls puts back (see ipc/queue_core.cpp).
  std::uint64_t intent_tail;
  std::uint64_t intent_puts;
  alignas(64) std::atomic<std::uint64_t> tail;
  std::atomic<std::uint64_t> puts;  // messages published
  alignas(64) BiasedLockState get_lock;
  std::uint64_t tail_seen;    // under get_lock: the last tail read (<= tail)
  std::uint64_t intent_head;  // under get_lock: as intent_tail, for gets and head
  std::uint64_t intent_gets;
  alignas(64) std::atomic<std::uint64_t> head;
  std::atomic<std::uint64_t> gets;  // messages consumed
  // Wake-ups.
  alignas(64) std::atomic<std::uint32_t> data_seq;  // low bit: a consumer sleeps
  std::atomic<std::uint32_t> space_seq;             // low bit: a producer sleeps
  // JoinableQueue: unfinished tasks = puts - done. puts counts published messages only (a put
  // killed between counting and publishing is rolled back, see intent_tail), so a producer
  // killed mid-put leaves join() nothing to wait for.
  alignas(64) std::atomic<std::uint64_t> done;  // task_done() calls
  std::atomic<std::uint32_t> done_seq;          // bumped when done catches up with puts
  std::uint64_t capacity;
  std::uint64_t type_tag;  // the codec's tag of the element type
  std::uint32_t maxsize;   // 0: no item limit
  std::uint32_t version;
};
static_assert(std::is_standard_layout_v<RingState>);

inline constexpr std::uint32_t kRingVersion = 5;

inline std::uint64_t record_size(std::uint64_t payload) {
  return sizeof(RecordHeader) + ((payload + 3) & ~std::uint64_t{3});
}

}  // namespace mp::shm
