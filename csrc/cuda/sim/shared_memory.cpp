// Shared memory: the block's arena (dynamic shared memory at its start, static arrays carved
// after it at first use, 48 KiB at most) and the race check on SharedView accesses — for every
// 4 bytes, the last writer and the readers since the last __syncthreads (GPU Ocelot's shadow
// scheme); two threads touching one cell between the same two barriers, one of them writing,
// is a race.
#include <string>
#include <utility>

#include "runtime.h"

namespace sinapse::sim {

namespace internal {

namespace {

std::string thread_name(int linear) {
  const Fiber& f = tls.block->fibers[linear];
  return "thread (" + std::to_string(f.t.thread_idx.x) + ", " + std::to_string(f.t.thread_idx.y) + ", " +
         std::to_string(f.t.thread_idx.z) + ")";
}

// The shadow cells an access covers; empty when the race check is off.
std::pair<Block::Shadow*, size_t> shadow_of(const void* element, size_t bytes) {
  Block& b = *tls.block;
  if (b.shadow.empty()) return {nullptr, 0};
  const size_t offset = static_cast<const unsigned char*>(element) - b.arena.data();
  return {&b.shadow[offset / 4], (bytes + 3) / 4};
}

// Another thread wrote this cell since the last barrier: a race for any access by `me`.
void check_unordered_write(const Block::Shadow& c, uint64_t epoch, int me, const char* name, const char* verb) {
  if (c.write_epoch == epoch && c.writer != me)
    fail("shared-memory race on `" + std::string(name) + "`: " + thread_name(me) + " " + verb + " what " +
         thread_name(c.writer) + " wrote, with no __syncthreads in between");
}

// An access by the current thread to the cells under [element, element + bytes): a race if
// another thread wrote one since the last barrier, then `update` records it (reader or writer).
template <typename Update>
void track_access(const void* element, size_t bytes, const char* name, const char* verb, Update update) {
  auto [cells, n] = shadow_of(element, bytes);
  const uint64_t epoch = tls.block->bar_generation;
  const int me = tls.fiber->t.linear;
  for (size_t i = 0; i < n; ++i) {
    check_unordered_write(cells[i], epoch, me, name, verb);
    update(cells[i], epoch, me);
  }
}

}  // namespace

}  // namespace internal

using namespace internal;

void* shared_static_bytes(const void* key, size_t bytes, size_t align) {
  Block& b = *tls.block;
  for (const auto& [k, offset] : b.statics)
    if (k == key) return b.arena.data() + offset;
  size_t offset = (b.used + align - 1) / align * align;
  if (offset + bytes - b.dynamic_bytes > b.static_budget)  // never past the arena: the budget is <= 48 KiB
    fail("static shared memory of the block (" + std::to_string(offset + bytes - b.dynamic_bytes) + " B) exceeds " +
         std::to_string(b.static_budget) + " B: " + b.static_rule);
  b.statics.emplace_back(key, offset);
  b.used = offset + bytes;
  return b.arena.data() + offset;
}

void* shared_dynamic() {
  Block& b = *tls.block;
  return b.dynamic_bytes ? b.arena.data() : nullptr;
}

void shared_read(const void* element, size_t bytes, const char* name) {
  track_access(element, bytes, name, "reads", [](Block::Shadow& c, uint64_t epoch, int me) {
    if (c.read_epoch != epoch) {
      c.reader = me;
      c.read_epoch = epoch;
    } else if (c.reader != me) {
      c.reader = -2;
    }
  });
}

void shared_write(const void* element, size_t bytes, const char* name) {
  track_access(element, bytes, name, "overwrites", [name](Block::Shadow& c, uint64_t epoch, int me) {
    if (c.read_epoch == epoch && c.reader != me)
      fail("shared-memory race on `" + std::string(name) + "`: " + thread_name(me) + " overwrites what " +
           (c.reader == -2 ? std::string("other threads") : thread_name(c.reader)) +
           " read, with no __syncthreads in between");
    c.writer = me;
    c.write_epoch = epoch;
  });
}

void shared_index_error(const char* name, int64_t index, size_t extent) {
  fail("shared-memory index " + std::to_string(index) + " out of bounds [0, " + std::to_string(extent) + ") of `" +
       name + "`");
}

}  // namespace sinapse::sim
