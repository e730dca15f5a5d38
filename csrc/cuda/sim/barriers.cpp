// Barriers and warps: __syncthreads over the block's live threads (divergent barriers and
// barriers awaited by exited threads are errors), and the warp rendezvous behind every
// __shfl_*_sync and __syncwarp (a lane outside the mask, lanes disagreeing on it, or a mask
// naming an exited lane are errors). A waiting fiber yields to the scheduler until released.
#include <algorithm>
#include <cstring>
#include <string>

#include "runtime.h"

namespace sinapse::sim {

namespace internal {

namespace {

// A barrier awaited after some threads of the block exited: undefined behaviour on a GPU.
void check_none_exited(const Block& b) {
  const int total = static_cast<int>(b.fibers.size());
  if (b.live == total) return;
  for (const Fiber& f : b.fibers)
    if (f.state == FiberState::at_barrier)
      fail("__syncthreads at " + std::string(f.bar_file) + ":" + std::to_string(f.bar_line) + " is awaited while " +
           std::to_string(total - b.live) +
           " thread(s) of the block have already exited (undefined behaviour on a GPU)");
}

// Every waiting thread must wait at the same __syncthreads (file:line).
void check_same_barrier(const Block& b) {
  const Fiber* first = nullptr;
  for (const Fiber& f : b.fibers) {
    if (f.state != FiberState::at_barrier) continue;
    if (!first) {
      first = &f;
    } else if (f.bar_line != first->bar_line || std::strcmp(f.bar_file, first->bar_file) != 0) {
      fail("divergent __syncthreads: " + where(first->t) + " waits at " + first->bar_file + ":" +
           std::to_string(first->bar_line) + " but " + where(f.t) + " at " + f.bar_file + ":" +
           std::to_string(f.bar_line));
    }
  }
}

// The lane's own checks before it joins a warp rendezvous.
void check_warp_mask(const std::string& op, unsigned mask, int lane, int src_lane, int warp_size) {
  if (!((mask >> lane) & 1u)) fail(op + ": the calling lane " + std::to_string(lane) + " is not in the mask");
  if (warp_size < 32 && (mask >> warp_size) != 0) fail(op + ": the mask names lanes beyond the block's last thread");
  if (src_lane < 0 || src_lane >= 32 || !((mask >> src_lane) & 1u))
    fail(op + ": source lane " + std::to_string(src_lane) + " is not in the mask");
}

// Yields until ready(); fails if a lane of the mask exits meanwhile (it would never arrive).
template <typename Ready>
void wait_in_warp(Block& b, Fiber& f, const std::string& op, unsigned mask, int warp_base, int warp_size, Ready ready) {
  f.state = FiberState::at_warp;
  while (!ready()) {
    for (int l = 0; l < warp_size; ++l)
      if (((mask >> l) & 1u) && b.fibers[warp_base + l].state == FiberState::done)
        fail(op + ": lane " + std::to_string(l) + " of the mask has already exited");
    yield();
    if (b.failed) fail("block aborted");
  }
  f.state = FiberState::runnable;
}

}  // namespace

void check_barrier(Block& b) {
  if (b.at_barrier == 0) return;
  check_none_exited(b);
  if (b.at_barrier != b.live) return;
  check_same_barrier(b);
  for (Fiber& f : b.fibers)
    if (f.state == FiberState::at_barrier) f.state = FiberState::runnable;
  b.at_barrier = 0;
  ++b.bar_generation;
  ++b.events;
}

}  // namespace internal

using namespace internal;

void syncthreads(const char* file, int line) {
  Block& b = *tls.block;
  Fiber& f = *tls.fiber;
  f.state = FiberState::at_barrier;
  f.bar_file = file;
  f.bar_line = line;
  ++b.at_barrier;
  ++b.events;
  const uint64_t gen = b.bar_generation;
  while (b.bar_generation == gen) {
    yield();
    if (b.failed) fail("block aborted");
  }
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane, const char* op) {
  Block& b = *tls.block;
  Fiber& f = *tls.fiber;
  const int lane = f.t.linear & 31, warp_base = f.t.linear & ~31;
  const int warp_size = std::min(32, static_cast<int>(b.fibers.size()) - warp_base);
  const std::string name(op);
  check_warp_mask(name, mask, lane, src_lane, warp_size);
  Warp& w = b.warps[warp_base / 32];
  // Phase 1, deposit (once the previous exchange has been read by all its lanes).
  wait_in_warp(b, f, name, mask, warp_base, warp_size, [&] { return !w.reading; });
  if (w.arrived == 0) {
    w.mask = mask;
  } else if (w.mask != mask) {
    fail(name + ": lanes of one warp disagree on the mask");
  }
  w.values[lane] = value;
  ++w.arrived;
  ++b.events;
  const uint64_t gen = w.generation;
  if (w.arrived == __builtin_popcount(mask)) {
    w.reading = true;
    w.read = 0;
  }
  // Phase 2, read (once every lane of the mask has deposited).
  wait_in_warp(b, f, name, mask, warp_base, warp_size, [&] { return w.reading && w.generation == gen; });
  const uint64_t result = w.values[src_lane];
  if (++w.read == __builtin_popcount(mask)) {  // the last reader opens the next exchange
    w.reading = false;
    w.arrived = 0;
    ++w.generation;
  }
  ++b.events;
  return result;
}

void syncwarp(unsigned mask) { (void)warp_exchange(mask, 0, __builtin_ctz(mask ? mask : 1u), "__syncwarp"); }

}  // namespace sinapse::sim
