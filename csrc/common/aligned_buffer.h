// A grow-only, 64-byte aligned scratch buffer. Kernels keep one per *calling* thread
// (thread_local), so two Python threads running ops at once never share scratch memory,
// and a training loop does not pay malloc/free on every call.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>

namespace sinapse {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }

  // Returns at least `count` floats, 64-byte aligned. Contents are unspecified.
  // std::bad_alloc when the request cannot be met, including a byte count that would
  // overflow size_t (it would wrap to a small buffer and the kernel would overrun it).
  float* floats(std::size_t count) {
    if (count > (std::numeric_limits<std::size_t>::max() - 63) / sizeof(float)) throw std::bad_alloc();
    const std::size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
    if (bytes > capacity_) {
      std::free(data_);
      data_ = std::aligned_alloc(64, bytes);
      if (!data_) {
        capacity_ = 0;
        throw std::bad_alloc();
      }
      capacity_ = bytes;
    }
    return static_cast<float*>(data_);
  }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace sinapse
