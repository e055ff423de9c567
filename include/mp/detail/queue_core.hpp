// mp/detail/queue_core.hpp — the untyped queue under Queue<T>: bytes in, bytes out. See
// src/shm/ring.hpp for the layout and the protocol.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "mp/detail/archive.hpp"
#include "mp/detail/segment.hpp"
#include "mp/queue_options.hpp"

namespace mp {
namespace shm {
struct RingState;
}

namespace detail {

class OutputArchive;
class InputArchive;
class Body;  // src/ipc/message_body.hpp

// Test hook, inert unless a test sets it: get() calls it after a large message's body has been
// read (the sink has run) and before the head is published, the window in which a consumer that
// dies must leave the message, body intact, to the next consumer. Tests set it in a child
// process to make that child SIGKILL itself at exactly that point.
extern void (*large_get_hook)() noexcept;
// Test hooks, inert unless a test sets them: put() and get() call them after counting the
// message (puts, gets) and before publishing it (tail, head).
extern void (*put_publish_hook)() noexcept;
extern void (*get_publish_hook)() noexcept;

class QueueCore {
 public:
  using Timeout = std::optional<std::chrono::nanoseconds>;
  // Called with a message's bytes while the get lock is held; it decodes them.
  using Sink = void (*)(void* context, std::span<const std::byte> message);

  // `type_tag`: the codec's tag of the element type, kept in the ring's header; messages are
  // stored without a tag of their own.
  QueueCore(std::uint64_t type_tag, std::size_t maxsize, const QueueOptions& options);

  // One message being encoded for put(). It goes into this thread's encoding buffer while it
  // would fit the ring; once it outgrows that, into a body (shared memory passed beside the
  // ring), where the rest is encoded directly: a large message is never also held whole in a
  // private buffer, nor copied once more. Encode with OutputArchive(message) or
  // encode_payload_into(value, message); then put it, at most once. One thread's: it borrows the
  // thread's encoding buffer.
  class Message final : public EncodeSink {
   public:
    explicit Message(QueueCore& queue);
    ~Message();  // a body not put is kept for the next message
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;

    std::span<std::byte> grow(std::size_t used, std::size_t need) override;
    void finish(std::size_t used) noexcept override { size_ = used; }
    // Whether the message went out of the ring, into a body.
    bool large() const noexcept { return body_ != nullptr; }

   private:
    friend class QueueCore;
    QueueCore& queue_;
    std::vector<std::byte>& buffer_;  // this thread's encoding buffer
    std::size_t size_ = 0;            // bytes encoded
    std::unique_ptr<Body> body_;
  };

  // False on timeout. Throws ValueError when closed, std::system_error on OS failures.
  bool put(std::span<const std::byte> message, Timeout timeout);
  bool put(Message& message, Timeout timeout);
  // The largest message that goes in the ring; a larger one goes beside it, in a body.
  std::size_t largest_in_ring() const noexcept;
  // Puts a message of exactly `size` bytes (at most largest_in_ring()) that `write(context, at)`
  // encodes straight into the ring, under the put lock, sparing a copy: only for encodings that
  // run no user code (a string, a vector of numbers). Should it throw, nothing is put.
  // `bulk_at`: where in the message its bulk bytes begin (a string's characters), which a
  // message of a kilobyte or more then finds at a 64-byte boundary in the ring.
  using Writer = void (*)(const void* context, std::span<std::byte> at);
  bool put_in_place(std::size_t size, Writer write, const void* context, Timeout timeout,
                    std::size_t bulk_at);
  // `body_sink`, when given, is called instead of `sink` for a message read from a body: the
  // bytes are then a shared mapping that it may give back as it reads them
  // (decode_payload(bytes, true)), and a large one is not mapped ahead of its reading. True: it
  // keeps reading them after get returns, until it releases the body (src/ipc/kept_body.hpp);
  // the producer meanwhile writes into other bodies, and this thread's next get may unmap it.
  using BodySink = bool (*)(void* context, std::span<const std::byte> message);
  // While no message is there, `give_way(give_way_context)`, when given, is asked at each look
  // whether to stop waiting (the get then returns false at once): a waiter that another thread
  // needs out of the way. wake_getters() makes a sleeping getter look again.
  using GiveWay = bool (*)(const void* context);
  // False on timeout; exceptions from `sink` propagate after the message has been consumed.
  bool get(Sink sink, void* context, Timeout timeout, BodySink body_sink = nullptr,
           GiveWay give_way = nullptr, const void* give_way_context = nullptr);
  void wake_getters() noexcept;

  std::size_t qsize() const noexcept;
  bool empty() const noexcept;
  bool full() const noexcept;
  std::size_t maxsize() const noexcept;

  // JoinableQueue. Unfinished tasks are the items published minus the task_done() calls.
  void task_done();            // ValueError when called more times than items were put
  bool join(Timeout timeout);  // until every item put has been marked done

  void close() noexcept;  // for this process: put and get throw ValueError afterwards
  bool closed() const noexcept;

  // Encoding (detail/fd_transfer.hpp): the ring's shared memory and both ends of the socket
  // that carries large messages. The decoded core has its own closed flag (open) and spare
  // bodies. load_handle throws ProtocolError unless the memory holds a ring of this version
  // whose element type has `type_tag`.
  void save_handle(OutputArchive& ar, const char* type) const;
  void load_handle(InputArchive& ar, std::uint64_t type_tag);

 private:
  struct Local;
  template <class Write>
  bool put_record(std::size_t size, Body* body, const Write& write, Timeout timeout,
                  std::size_t bulk_at = kUnaligned);
  static constexpr std::size_t kUnaligned = ~std::size_t{0};

  std::shared_ptr<Segment> segment_;
  shm::RingState* ring_ = nullptr;
  std::byte* data_ = nullptr;
  std::shared_ptr<Local> local_;
};

}  // namespace detail
}  // namespace mp
