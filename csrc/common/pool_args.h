// The geometry of a 2-D pooling over NHWC images, shared by the CPU and CUDA kernels.
// Python (sinapse/ops/pooling.py) computes it once, with Keras's "valid"/"same" rules.
#pragma once

#include <cstdint>

#include "macros.h"

namespace sinapse {

struct PoolArgs {
  int64_t N, H, W, C;         // input
  int64_t KH, KW;             // window
  int64_t SH, SW;             // strides
  int64_t pad_top, pad_left;  // "same": the extra row/column of padding goes bottom/right
  int64_t OH, OW;             // output
};

// The window of output (oh, ow), clipped to the image: rows [h0, h1), columns [w0, w1).
SINAPSE_HD void pool_window(const PoolArgs& p, int64_t oh, int64_t ow, int64_t& h0, int64_t& h1, int64_t& w0,
                            int64_t& w1) {
  const int64_t hs = oh * p.SH - p.pad_top, ws = ow * p.SW - p.pad_left;
  h0 = hs < 0 ? 0 : hs;
  w0 = ws < 0 ? 0 : ws;
  h1 = hs + p.KH < p.H ? hs + p.KH : p.H;
  w1 = ws + p.KW < p.W ? ws + p.KW : p.W;
}

// The outputs whose windows contain input row h: [oh0, oh1) (likewise for columns).
SINAPSE_HD void pool_outputs_covering(int64_t h, int64_t K, int64_t S, int64_t pad, int64_t OH, int64_t& oh0,
                                      int64_t& oh1) {
  // oh * S - pad <= h < oh * S - pad + K
  const int64_t lo = h + pad - K + 1;  // smallest oh with oh * S >= lo
  oh0 = lo <= 0 ? 0 : (lo + S - 1) / S;
  oh1 = (h + pad) / S + 1;
  if (oh1 > OH) oh1 = OH;
}

}  // namespace sinapse
