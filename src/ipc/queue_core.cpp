// ipc/queue_core.cpp — put and get on the shared ring (shm/ring.hpp); large messages beside it.
#include "mp/detail/queue_core.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "ipc/kept_body.hpp"
#include "ipc/message_body.hpp"
#include "mp/codec.hpp"
#include "mp/detail/archive.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "mp/errors.hpp"
#include "shm/ring.hpp"
#include "sys/futex.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

void (*large_get_hook)() noexcept = nullptr;

void release_kept_body(std::span<const std::byte> message) noexcept {
  BodyViews::release(message);
}
void (*put_publish_hook)() noexcept = nullptr;
void (*get_publish_hook)() noexcept = nullptr;

using shm::LargeRecord;
using shm::RecordHeader;
using shm::RecordKind;
using shm::RingState;

// Process-local: the closed flag, the socket pair that carries large messages (producers send
// on `send_end`, consumers receive on `recv_end`), and their bodies (ipc/message_body.hpp).
struct QueueCore::Local {
  sys::UniqueFd send_end;
  sys::UniqueFd recv_end;
  bool closed = false;
  int put_pause = 8;  // under the put lock: wait_while's spacing of looks
  int get_pause = 8;  // under the get lock
  BodyPool bodies;    // the producer's
  BodyViews views;    // the consumer's, under the get lock
};

namespace {

constexpr int kSpins = 100;
// Pauses between two looks while spinning (a pause is 10 to 40 ns): adapted per process and
// queue between these bounds.
constexpr int kMinPause = 8;
constexpr int kMaxPause = 128;
constexpr int kShrinkAfter = 4;
// Spinning stops after this long (100 looks at the widest spacing would take ~400 µs): a
// spinner holds a CPU the other side may need. Then the waiter sleeps; it never yields: on a
// busy machine one sched_yield hands the CPU to another program for a whole time slice (3.5 ms
// seen here), and a Pool round trip of yields took 1 - 5 ms where a blocking pipe took 15 µs,
// because a sleeper is woken ahead of programs that kept running and a yielder is not.
constexpr auto kSpinFor = std::chrono::microseconds(20);
constexpr auto kFirstSleep = std::chrono::milliseconds(1);
constexpr std::size_t kMinCapacity = 4096;
constexpr std::uint64_t kHotBytes = 64 << 10;
constexpr std::uint64_t kHotMessages = 64;
// A message of kAlignFrom bytes or more written in place has its bulk bytes (a string's
// characters) start a cache line, as the buffers they come from and go to usually do: a copy
// between two addresses 16 bytes apart within 32 took 1.5 - 1.7x as long here as an aligned one
// (64 KiB, glibc 2.36's AVX2 memcpy, AMD EPYC), which made 64 KiB messages 1.25 - 1.33x a plain
// ring of aligned slots.
constexpr std::size_t kAlignFrom = 1024;
constexpr std::uint64_t kAlignment = 64;
// join(): how often it looks for a producer that died inside put, and how long it waits for the
// put lock then (longer than shm::kOwnerCheck, so that a dead holder is noticed).
constexpr auto kJoinLook = std::chrono::milliseconds(50);
constexpr auto kJoinLockWait = std::chrono::milliseconds(30);

std::size_t ring_offset() {
  return (sizeof(RingState) + 63) / 64 * 64;
}

// Waits while `blocked()` holds; false when the deadline passed first. Spinning pays while the
// other side runs on another CPU; then sleep.
//
// `seq`'s low bit says "someone sleeps here": a sleeper sets it, and the first notify() to see
// it clears it and makes the only wake-up call, so a burst of puts wakes a sleeping consumer
// once, not once per message.
template <class F>
bool wait_while(std::atomic<std::uint32_t>& seq, F blocked, const sys::Deadline& deadline,
                int& pause) {
  if (!blocked()) return true;
  if (deadline.passed()) return false;
  const sys::Deadline stop_spinning = sys::Deadline::after(std::chrono::nanoseconds(kSpinFor));
  for (int i = 0; i < kSpins && (i < kShrinkAfter || !stop_spinning.passed()); ++i) {
    // Each look at the other side's position pulls its cache line over and stalls the other
    // side's next write to it. So look less often while the other side streams (what was
    // waited for came within one pause) and more often while it is sparse.
    for (int k = 0; k < pause; ++k) sys::cpu_relax();
    if (!blocked()) {
      if (i == 0) {
        pause = std::min(pause * 2, kMaxPause);
      } else if (i >= kShrinkAfter) {
        pause = std::max(pause / 2, kMinPause);
      }
      return true;
    }
  }
  pause = kMinPause;
  for (bool fresh = true;;) {
    const std::uint32_t s = seq.fetch_or(1, std::memory_order_seq_cst) | 1;
    if (!blocked()) return true;
    // The other side publishes with a plain release store and then reads `seq` (no locked
    // instruction on the hot path), so it can miss a bit set at that very moment. A sleep
    // right after setting the bit is therefore short: the recheck after it sees any publish
    // that missed the bit, and later publishes see the bit.
    sys::futex_wait(seq, s, fresh ? deadline.capped(kFirstSleep) : deadline);
    if (!blocked()) return true;
    if (deadline.passed()) return false;
    fresh = seq.load(std::memory_order_relaxed) != s;  // a notify cleared the bit: set anew
  }
}

void notify(std::atomic<std::uint32_t>& seq) {
  std::uint32_t s = seq.load(std::memory_order_seq_cst);
  if ((s & 1) != 0 && seq.compare_exchange_strong(s, s + 1, std::memory_order_seq_cst)) {
    sys::futex_wake(seq, INT_MAX);
  }
}

std::uint32_t me() {
  return static_cast<std::uint32_t>(sys::this_tid());
}

// While consumers keep up, the next lap starts early instead of after the whole ring: a busy
// queue then cycles through its first kHotBytes, which stay in the CPUs' caches, rather than
// pulling every line of a ring of megabytes from memory. Looks once per 4 KiB written, past the
// hot part, whether the consumers have left the start of this lap far enough behind.
// The hot part holds at least kHotMessages records of the size being put: one that held a single
// record would have the producer write each message over the lines the consumer is reading
// (64 KiB messages between two processes took about 14 us each that way, 8 us with room for
// four, 4.3 us with sixteen, and 1.7 - 1.9 us with 64, that is the whole default ring of 4 MiB,
// as fast as a plain ring of 64 KiB slots; small messages keep their 64 KiB).
bool wrap_early(RingState& r, std::uint64_t t, std::uint64_t need) {
  const std::uint64_t off = t & (r.capacity - 1);
  const std::uint64_t hot = std::max(kHotBytes, kHotMessages * need);
  if (off < hot || ((t ^ (t + need)) >> 12) == 0) return false;
  const std::uint64_t lap = t - off;
  auto fits = [&] { return r.head_seen >= lap && r.head_seen - lap >= hot; };
  if (fits()) return true;
  r.head_seen = r.head.load(std::memory_order_acquire);
  return fits();
}

class LockGuard {
 public:
  explicit LockGuard(shm::BiasedLockState& s) : s_(s) {}
  bool acquire(const sys::Deadline& deadline) {
    entry_ = shm::biased_enter(s_, me(), deadline, recovered_);
    return entry_ != shm::Entry::none;
  }
  // The previous holder died inside.
  bool recovered() const { return recovered_; }
  void release() {
    shm::biased_leave(s_, entry_, me());
    entry_ = shm::Entry::none;
  }
  ~LockGuard() { release(); }

 private:
  shm::BiasedLockState& s_;
  shm::Entry entry_ = shm::Entry::none;
  bool recovered_ = false;
};

// A put or get counts its message (puts, gets) and then publishes it (tail, head): a holder
// killed in between would leave the count one ahead for ever (join() waiting for an item that
// never arrives). So each first records its intent, and whoever takes the lock over from a dead
// holder rolls the count back to it if the position was not published (the intent is ahead of
// it; padding moves a position past an old intent, never behind it). An unpublished message
// was never acknowledged: it is dropped, the next put writes over it.
void roll_back_put(RingState& r) {
  if (r.intent_tail > r.tail.load(std::memory_order_relaxed)) {
    r.puts.store(r.intent_puts, std::memory_order_relaxed);
  }
}
void roll_back_get(RingState& r) {
  if (r.intent_head > r.head.load(std::memory_order_relaxed)) {
    r.gets.store(r.intent_gets, std::memory_order_relaxed);
  }
}

}  // namespace

QueueCore::QueueCore(std::uint64_t type_tag, std::size_t maxsize, const QueueOptions& options)
    : local_(std::make_shared<Local>()) {
  if (maxsize > INT32_MAX) throw ValueError("queue maxsize too large");
  const std::size_t capacity = std::bit_ceil(std::max(options.capacity, kMinCapacity));
  segment_ = Segment::create(ring_offset() + capacity);
  ring_ = new (segment_->data()) RingState();
  ring_->capacity = capacity;
  ring_->maxsize = static_cast<std::uint32_t>(maxsize);
  ring_->type_tag = type_tag;
  ring_->version = shm::kRingVersion;
  data_ = segment_->data() + ring_offset();
  if (int err = sys::socket_pair(true, local_->send_end, local_->recv_end); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
}

std::size_t QueueCore::largest_in_ring() const noexcept {
  // A record (header and payload rounded up to 4 bytes) takes at most a quarter of the ring.
  const std::uint64_t most =
      std::min<std::uint64_t>(ring_->capacity / 4, RecordHeader::kLengthMask);
  return static_cast<std::size_t>((most - sizeof(RecordHeader)) & ~std::uint64_t{3});
}

QueueCore::Message::Message(QueueCore& queue) : queue_(queue), buffer_(encode_buffer()) {
  buffer_.clear();
}

QueueCore::Message::~Message() {
  if (body_ && *body_) queue_.local_->bodies.give_back(std::move(*body_));
  if (buffer_.capacity() > kKeptEncodeBuffer) [[unlikely]]
    release_encode_buffer();
}

std::span<std::byte> QueueCore::Message::grow(std::size_t used, std::size_t need) {
  if (!body_) {
    if (need <= queue_.largest_in_ring()) return VectorSink(buffer_).grow(used, need);
    // Outgrew the ring: what is written so far (less than a quarter of the ring) moves to a body.
    Body body = queue_.local_->bodies.claim(std::max(need, 2 * used));
    if (used != 0) std::memcpy(body.bytes().data(), buffer_.data(), used);
    body_ = std::make_unique<Body>(std::move(body));
    return body_->bytes();
  }
  // Doubling: a body's pages take memory only once written, and mremap moves none of them.
  body_->reserve(std::max(need, 2 * used));
  return body_->bytes();
}

bool QueueCore::put(Message& message, Timeout timeout) {
  if (!message.body_) return put({message.buffer_.data(), message.size_}, timeout);
  if (local_->closed) throw ValueError("queue is closed");
  return put_record(message.size_, message.body_.get(), nullptr, timeout);
}

bool QueueCore::put(std::span<const std::byte> message, Timeout timeout) {
  if (local_->closed) throw ValueError("queue is closed");
  if (message.size() <= largest_in_ring()) {
    return put_record(
        message.size(), nullptr,
        [&](std::span<std::byte> at) {
          if (!message.empty()) std::memcpy(at.data(), message.data(), message.size());
        },
        timeout);
  }
  Body body = local_->bodies.fill(message);  // outside the lock
  const bool put = put_record(message.size(), &body, nullptr, timeout);
  if (body) local_->bodies.give_back(std::move(body));  // not sent
  return put;
}

bool QueueCore::put_in_place(std::size_t size, Writer write, const void* context, Timeout timeout,
                             std::size_t bulk_at) {
  if (local_->closed) throw ValueError("queue is closed");
  if (size > largest_in_ring()) throw std::length_error("queue: put_in_place of a large message");
  return put_record(
      size, nullptr, [&](std::span<std::byte> at) { write(context, at); }, timeout,
      size >= kAlignFrom ? bulk_at : kUnaligned);
}

// A message of `size` bytes: in `body`, when given, which then goes beside the ring (moved into
// the spares once sent, left to the caller otherwise); else written into the ring by
// `write(span)`, under the put lock.
template <class Write>
bool QueueCore::put_record(std::size_t size, Body* body, const Write& write, Timeout timeout,
                           std::size_t bulk_at) {
  const auto deadline = sys::Deadline::after(timeout);
  RingState& r = *ring_;
  const std::uint64_t cap = r.capacity;
  const bool large = body != nullptr;
  const std::uint64_t need = shm::record_size(large ? sizeof(LargeRecord) : size);
  // Padding before a record at `pos` that puts its bulk bytes on a cache line's start (or 4 bytes
  // short of it: records keep their 4-byte alignment).
  auto lead_at = [&](std::uint64_t pos) -> std::uint64_t {
    if (bulk_at == kUnaligned) return 0;
    const std::uint64_t at = pos + sizeof(RecordHeader) + (bulk_at & ~std::size_t{3});
    return (kAlignment - at % kAlignment) % kAlignment;
  };

  LockGuard lock(r.put_lock);
  if (!lock.acquire(deadline)) return false;
  std::uint64_t t = r.tail.load(std::memory_order_relaxed);
  if (lock.recovered()) roll_back_put(r);
  auto no_room = [&] {
    const std::uint64_t contiguous = cap - t % cap;
    const std::uint64_t here = lead_at(t) + need;
    const std::uint64_t total = here <= contiguous ? here : contiguous + lead_at(0) + need;
    if (r.maxsize != 0 &&
        r.puts.load(std::memory_order_relaxed) - r.gets.load(std::memory_order_seq_cst) >=
            r.maxsize) {
      return true;
    }
    if (cap - (t - r.head_seen) >= total) return false;
    r.head_seen = r.head.load(std::memory_order_seq_cst);
    return cap - (t - r.head_seen) < total;
  };
  if (!wait_while(r.space_seq, no_room, deadline, local_->put_pause)) return false;

  auto pad = [&](std::uint64_t bytes) {
    // In records of at most 1 GiB: a header's length has 30 bits, and padding to the end of a
    // ring of 2 GiB or more (an early wrap) can be longer.
    while (bytes != 0) {
      const std::uint64_t chunk = std::min<std::uint64_t>(bytes, std::uint64_t{1} << 30);
      auto h = RecordHeader::make(RecordKind::padding, chunk - sizeof(RecordHeader));
      std::memcpy(data_ + t % cap, &h, sizeof h);
      t += chunk;
      bytes -= chunk;
    }
  };
  const std::uint64_t contiguous = cap - t % cap;
  if (lead_at(t) + need > contiguous || wrap_early(r, t, lead_at(0) + need)) {
    pad(contiguous);  // records never wrap
  }
  if (const std::uint64_t lead = lead_at(t); lead != 0) pad(lead);
  std::byte* at = data_ + t % cap;
  if (large) {
    // The id is taken before the send: a producer killed after sending leaves a descriptor whose
    // id no record will ever name (consumers discard it), never a second one with the same id.
    LargeRecord rec{r.next_large_id++, size};
    // The body goes first: a consumer that sees the record finds it waiting in the socket. The
    // socket fills when consumers lag (a few hundred messages): that is waited for like room in
    // the ring, until the deadline.
    body->header().state.store(BodyHeader::in_flight, std::memory_order_release);
    if (int err = sys::send_fd(local_->send_end.get(), rec.id, body->fd(), deadline); err != 0) {
      if (err == ETIMEDOUT) return false;  // never sent: the caller keeps the body for reuse
      throw std::system_error(err, std::generic_category(), "queue: passing a large message");
    }
    auto h = RecordHeader::make(RecordKind::large, sizeof rec);
    std::memcpy(at, &h, sizeof h);
    std::memcpy(at + sizeof h, &rec, sizeof rec);
  } else {
    if constexpr (!std::is_same_v<Write, std::nullptr_t>) {
      // Written before anything is counted or published: should it throw, the lock is left
      // and nothing was put.
      write(std::span<std::byte>(at + sizeof(RecordHeader), size));
    }
    auto h = RecordHeader::make(RecordKind::message, size);
    std::memcpy(at, &h, sizeof h);
  }
  const std::uint64_t puts = r.puts.load(std::memory_order_relaxed);
  r.intent_puts = puts;
  r.intent_tail = t + need;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the intent before the count
  r.puts.store(puts + 1, std::memory_order_relaxed);
  if (put_publish_hook != nullptr) put_publish_hook();
  r.tail.store(t + need, std::memory_order_release);  // publish (see wait_while)
  lock.release();
  notify(r.data_seq);
  if (large) local_->bodies.keep(std::move(*body));
  return true;
}

bool QueueCore::get(Sink sink, void* context, Timeout timeout, BodySink body_sink, GiveWay give_way,
                    const void* give_way_context) {
  if (local_->closed) throw ValueError("queue is closed");
  const auto deadline = sys::Deadline::after(timeout);
  RingState& r = *ring_;
  const std::uint64_t cap = r.capacity;

  LockGuard lock(r.get_lock);
  if (!lock.acquire(deadline)) return false;
  if (lock.recovered()) roll_back_get(r);
  std::exception_ptr error;
  for (;;) {
    const std::uint64_t h = r.head.load(std::memory_order_relaxed);
    auto nothing = [&] {
      if (r.tail_seen != h) return false;
      r.tail_seen = r.tail.load(std::memory_order_seq_cst);
      return r.tail_seen == h;
    };
    auto blocked = [&] {
      return nothing() && (give_way == nullptr || !give_way(give_way_context));
    };
    if (!wait_while(r.data_seq, blocked, deadline, local_->get_pause)) return false;
    if (r.tail_seen == h) return false;  // gave way, with nothing there

    const std::uint64_t idx = h % cap;
    RecordHeader hdr;
    std::memcpy(&hdr, data_ + idx, sizeof hdr);
    const std::uint32_t length = hdr.length();
    const RecordKind kind = hdr.kind();
    if (length > cap - idx - sizeof hdr) throw ProtocolError("queue ring is corrupt");
    const std::uint64_t next = h + shm::record_size(length);
    std::span<const std::byte> payload(data_ + idx + sizeof hdr, length);

    bool delivered = true;
    std::span<const std::byte> large_bytes;  // a large message's body, while it is read
    bool kept = false;  // large_bytes stay in use after get: the body_sink keeps them
    if (kind == RecordKind::message) {
      try {
        sink(context, payload);
      } catch (...) {
        error = std::current_exception();
      }
    } else if (kind == RecordKind::large) {
      // The descriptor is only peeked at, and the body stays in flight, until the head has
      // been published: a consumer that dies before then leaves both, intact, to the next.
      LargeRecord rec;
      std::memcpy(&rec, payload.data(), sizeof rec);
      delivered = false;
      for (;;) {
        std::uint64_t tag = 0;
        sys::UniqueFd fd;
        int err = sys::recv_fd(local_->recv_end.get(), true, tag, fd);
        // The producer sends before it publishes and consumers take only what they have
        // published past, so a record's descriptor is always there; skip one that is not.
        if (err == EAGAIN || (err == 0 && tag > rec.id)) break;
        if (err != 0)
          throw std::system_error(err, std::generic_category(), "queue: receiving a large message");
        if (tag == rec.id) {
          // A body read by body_sink is given back as it is read: mapping it whole first would
          // hold it whole.
          const bool populate = body_sink == nullptr || rec.size < InputArchive::kReleaseStep;
          large_bytes = local_->views.open(fd.get(), rec.size, populate);
          try {
            if (body_sink != nullptr) {
              // Kept by the sink: its reader gives it back (release_kept_body).
              kept = body_sink(context, large_bytes);
            } else {
              sink(context, large_bytes);
            }
          } catch (...) {
            error = std::current_exception();
          }
          delivered = true;
          break;
        }
        // Stale: left by a consumer that died after publishing the head, or a producer that
        // died between sending and publishing.
        sys::recv_fd(local_->recv_end.get(), false, tag, fd);
      }
    } else if (kind != RecordKind::padding) {
      throw ProtocolError("queue ring is corrupt");
    }
    if (kind == RecordKind::large && large_get_hook != nullptr) large_get_hook();
    if (kind != RecordKind::padding) {
      const std::uint64_t gets = r.gets.load(std::memory_order_relaxed);
      r.intent_gets = gets;
      r.intent_head = next;
      std::atomic_signal_fence(std::memory_order_seq_cst);  // the intent before the count
      r.gets.store(gets + 1, std::memory_order_relaxed);
      if (get_publish_hook != nullptr) get_publish_hook();
    }
    r.head.store(next, std::memory_order_release);
    notify(r.space_seq);
    if (kind == RecordKind::large && delivered) {
      // Now taken for good: the descriptor out of the socket, the body back to its producer.
      // A consumer that dies in between leaves a stale descriptor (the next large get discards
      // it) and a body its producer never reuses (it is dropped from the spares in time).
      std::uint64_t tag = 0;
      sys::UniqueFd fd;
      sys::recv_fd(local_->recv_end.get(), false, tag, fd);
      if (!kept) BodyViews::release(large_bytes);
    }
    if (kind == RecordKind::padding || !delivered) continue;
    lock.release();
    if (error) std::rethrow_exception(error);
    return true;
  }
}

void QueueCore::wake_getters() noexcept {
  notify(ring_->data_seq);
}

std::size_t QueueCore::qsize() const noexcept {
  const std::uint64_t gets = ring_->gets.load(std::memory_order_acquire);
  const std::uint64_t puts = ring_->puts.load(std::memory_order_acquire);
  return puts > gets ? static_cast<std::size_t>(puts - gets) : 0;
}
bool QueueCore::empty() const noexcept {
  return ring_->head.load(std::memory_order_acquire) == ring_->tail.load(std::memory_order_acquire);
}
bool QueueCore::full() const noexcept {
  return ring_->maxsize != 0 && qsize() >= ring_->maxsize;
}
std::size_t QueueCore::maxsize() const noexcept {
  return ring_->maxsize;
}

void QueueCore::task_done() {
  RingState& r = *ring_;
  std::uint64_t d = r.done.load(std::memory_order_relaxed);
  do {
    if (d >= r.puts.load(std::memory_order_acquire)) {
      throw ValueError("task_done() called too many times");
    }
  } while (!r.done.compare_exchange_weak(d, d + 1, std::memory_order_seq_cst));
  if (d + 1 >= r.puts.load(std::memory_order_seq_cst)) {
    r.done_seq.fetch_add(1, std::memory_order_seq_cst);
    sys::futex_wake(r.done_seq, INT_MAX);
  }
}

bool QueueCore::join(Timeout timeout) {
  RingState& r = *ring_;
  const auto deadline = sys::Deadline::after(timeout);
  for (;;) {
    const std::uint32_t seq = r.done_seq.load(std::memory_order_seq_cst);
    if (r.done.load(std::memory_order_seq_cst) >= r.puts.load(std::memory_order_seq_cst)) {
      return true;
    }
    if (deadline.passed()) return false;
    if (sys::futex_wait(r.done_seq, seq, deadline.capped(kJoinLook)) ==
        sys::WaitResult::timed_out) {
      // A producer killed inside put may have counted an item it never published, and nobody
      // may put again to take its lock over: look. A live holder costs this a short wait.
      LockGuard lock(r.put_lock);
      if (lock.acquire(deadline.capped(kJoinLockWait)) && lock.recovered()) roll_back_put(r);
    }
  }
}

void QueueCore::save_handle(OutputArchive& ar, const char* type) const {
  save_shared(ar, segment_, segment_ ? segment_->data() : nullptr, segment_ ? segment_->size() : 0,
              type);
  const std::uint32_t send_index = pass_fd(local_->send_end.get(), type);
  const std::uint32_t recv_index = pass_fd(local_->recv_end.get(), type);
  ar(send_index, recv_index);
}

void QueueCore::load_handle(InputArchive& ar, std::uint64_t type_tag) {
  SharedPlace p = load_shared(ar, alignof(RingState), 1, 0);
  std::uint32_t send_index = 0, recv_index = 0;
  ar(send_index, recv_index);
  if (p.size < ring_offset() + kMinCapacity) throw ProtocolError("a queue's ring is too small");
  auto* ring = reinterpret_cast<RingState*>(p.at);
  if (ring->version != shm::kRingVersion) throw ProtocolError("a queue's ring has another version");
  if (ring->type_tag != type_tag) {
    throw ProtocolError("a queue of another element type arrived than the one asked for");
  }
  const std::uint64_t cap = ring->capacity;
  if (cap < kMinCapacity || !std::has_single_bit(cap) || cap > p.size - ring_offset() ||
      ring->maxsize > INT32_MAX) {
    throw ProtocolError("a queue's ring header is corrupt");
  }
  auto local = std::make_shared<Local>();
  local->send_end.reset(take_socket(send_index));
  local->recv_end.reset(take_socket(recv_index));
  segment_ = std::move(p.segment);
  ring_ = ring;
  data_ = segment_->data() + ring_offset();
  local_ = std::move(local);
}

void QueueCore::close() noexcept {
  local_->closed = true;
}
bool QueueCore::closed() const noexcept {
  return local_->closed;
}

}  // namespace mp::detail
