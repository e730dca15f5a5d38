// Layer normalization (and group normalization, the same kernels) on the CPU. CUDA twin:
// cuda/layer_norm.h. The geometry and the one-row definition: common/layer_norm_row.h.
//
//   y = (x - mean) * inv_std * gamma + beta,  inv_std = 1 / sqrt(var + epsilon)
// per normalised row, the biased variance (Keras's LayerNormalization; Ba et al. 2016).
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"
#include "../common/kernel_variant.h"
#include "../common/layer_norm_row.h"

namespace sinapse::cpu {

// Writes y (the shape of x) and mean / inv_std (a.rows() each, saved for the backward).
// gamma / beta: a.channels() floats, or null (scale 1, offset 0). y may be x.
// `variant`: tuned (layer_norm.cpp: one fused pass set per row, SIMD, threads over rows) or
// naive (layer_norm_naive.cpp: the definition as loops in double, one thread).
void layer_norm_forward(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* inv_std, KernelVariant variant, SimdPath path, int max_threads);

// dx (the shape of x), dgamma and dbeta (a.channels() each; dgamma = sum(dy * xhat), dbeta =
// sum(dy) over the rows, deterministic for a given thread count). gamma may be null. dx may be dy.
void layer_norm_backward(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dx, float* dgamma, float* dbeta, KernelVariant variant,
                         SimdPath path, int max_threads);

void layer_norm_forward_naive(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* inv_std);
void layer_norm_backward_naive(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta);

}  // namespace sinapse::cpu
