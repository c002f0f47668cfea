// The recurrent product of precision="int8" (inference): C (n x N, float32) = Q(A) Q(W)^T, both quantized
// symmetrically to 127 levels, A (the state) per row at each step, W (W_hh, N x K) per output unit once:
//
//   s_r = max_k |A[r, k]| / 127,  q_r[k] = round(A[r, k] * (1 / s_r))  (s_r = 1 for a row of zeros)
//   C[r, n] = s_r * w_n * sum_k q_r[k] * Wq[n, k]                       (Wq, w_n: rnnkit.nn.precision)
//
// AVX-512 VNNI multiplies unsigned by signed bytes (vpdpbusd: four products summed into each int32 lane), so the
// state enters as q + 128 and the sum is corrected by 128 * sum_k Wq[n, k], once per unit. The sums are exact
// (|sum| <= K * 127 * 127 fits int32 and float32 for K <= 1024), so the only roundings are the two
// quantizations and the final scaling: the reference path in rnnkit.nn.functional computes the same numbers.
// It runs twice the multiply-adds per instruction of the bfloat16 product (vdpbf16ps).
//
// Compiled where the compiler targets AVX-512 VNNI (RNNKIT_INT8_GEMM); elsewhere precision="int8" is refused.
#pragma once

#include "step_gemm.h"

#if defined(RNNKIT_STEP_GEMM) && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define RNNKIT_INT8_GEMM 1

#include <cmath>
#include <vector>

namespace rnnkit {

// W (N x K, int8) as rnnkit.nn.recurrence.int8_operands packs it, once per version of the weight: `packed`
// (blocks, quads, 64), 16-unit blocks of K/4 vectors, each 16 units x 4 consecutive k (zero-padded); `offset`
// 128 * sum_k Wq[n, k] (int32); `scale` w_n (float). Read in place: the tensors outlive the call.
struct PackedInt8 {
  const int8_t* base;
  const int32_t* offset;
  const float* scale;
  int64_t K, N, quads, blocks;

  PackedInt8(const at::Tensor& packed, const at::Tensor& offset_, const at::Tensor& scale_, int64_t K_)
      : K(K_), N(scale_.numel()), quads(packed.size(1)), blocks(packed.size(0)) {
    TORCH_CHECK(packed.scalar_type() == at::kChar && packed.dim() == 3 && packed.size(2) == 64 &&
                    packed.is_contiguous(), "the int8 weights must come packed (blocks, quads, 64)");
    TORCH_CHECK(quads == (K + 3) / 4 && blocks == (N + 15) / 16, "packed int8 weights of the wrong shape");
    TORCH_CHECK(offset_.scalar_type() == at::kInt && offset_.numel() == N && offset_.is_contiguous() &&
                    scale_.scalar_type() == at::kFloat && scale_.is_contiguous(), "one offset and scale per unit");
    TORCH_CHECK(K <= 1024, "the int8 product sums at most 1024 terms exactly");
    base = packed.data_ptr<int8_t>();
    offset = offset_.data_ptr<int32_t>();
    scale = scale_.data_ptr<float>();
  }
  const int8_t* block(int64_t nb) const { return base + nb * quads * 64; }
};

// One row of A quantized: q + 128 as bytes (the K % 4 tail padded with 128, i.e. zero), its scale returned.
inline float quantize_row(const float* a, int64_t K, uint8_t* q) {
  __m512 amax = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(a + k)));
  float m = _mm512_reduce_max_ps(amax);
  for (; k < K; ++k) m = std::max(m, std::fabs(a[k]));
  const float s = m > 0.0f ? m / 127.0f : 1.0f, inverse = 1.0f / s;
  const __m512 iv = _mm512_set1_ps(inverse);
  const __m512i bias = _mm512_set1_epi32(128);
  for (k = 0; k + 16 <= K; k += 16) {  // |a| * (1 / s) <= 127 + a few ulp: rounds into [-127, 127]
    const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(a + k), iv),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k),
                     _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(r), bias)));
  }
  for (; k < K; ++k) q[k] = static_cast<uint8_t>(static_cast<int32_t>(std::nearbyint(a[k] * inverse)) + 128);
  for (; k % 4; ++k) q[k] = 128;
  return s;
}

// Rows [r0, r0 + MR) of the quantized A (row stride ldq bytes) times unit blocks [nb0, nb0 + NB).
template <int MR, int NB>
inline void int8_tile(const uint8_t* q, int64_t ldq, const float* row_scale, const PackedInt8& B, int64_t r0,
                      int64_t nb0, float* C, int64_t ldc, bool accumulate) {
  __m512i acc[MR][NB];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_setzero_si512();
  const int8_t* blocks[NB];
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) blocks[j] = B.block(nb0 + j);
  for (int64_t s = 0; s < B.quads; ++s) {
    __m512i b[NB];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) b[j] = _mm512_loadu_si512(blocks[j] + s * 64);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t quad;
      std::memcpy(&quad, q + (r0 + r) * ldq + 4 * s, sizeof quad);
      const __m512i a = _mm512_set1_epi32(quad);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], a, b[j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    const int64_t n = (nb0 + j) * 16;
    const __mmask16 mask = mask_of(B.N - n);
    const __m512i offset = _mm512_maskz_loadu_epi32(mask, B.offset + n);
    const __m512 scale = _mm512_maskz_loadu_ps(mask, B.scale + n);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      float* c = C + (r0 + r) * ldc + n;
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], offset)),
                               _mm512_mul_ps(_mm512_set1_ps(row_scale[r0 + r]), scale));
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, c));
      _mm512_mask_storeu_ps(c, mask, v);
    }
  }
}

template <int NB>
inline void int8_rows(const uint8_t* q, int64_t ldq, const float* row_scale, const PackedInt8& B, int64_t n_rows,
                      int64_t nb0, float* C, int64_t ldc, bool accumulate) {
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) int8_tile<4, NB>(q, ldq, row_scale, B, r, nb0, C, ldc, accumulate);
  switch (n_rows - r) {
    case 3: int8_tile<3, NB>(q, ldq, row_scale, B, r, nb0, C, ldc, accumulate); break;
    case 2: int8_tile<2, NB>(q, ldq, row_scale, B, r, nb0, C, ldc, accumulate); break;
    case 1: int8_tile<1, NB>(q, ldq, row_scale, B, r, nb0, C, ldc, accumulate); break;
    default: break;
  }
}

// C[0:n] (row stride ldc) = Q(A[0:n]) Q(W)^T, or += with `accumulate`; A float32 with row stride lda. One thread:
// the recurrence runs it inside its own loop over row groups.
inline void int8_gemm(const float* A, int64_t lda, int64_t n, const PackedInt8& B, float* C, int64_t ldc,
                      bool accumulate) {
  thread_local std::vector<uint8_t> q;
  thread_local std::vector<float> row_scale;
  const int64_t ldq = B.quads * 4;
  q.resize(n * ldq);
  row_scale.resize(n);
  for (int64_t r = 0; r < n; ++r) row_scale[r] = quantize_row(A + r * lda, B.K, q.data() + r * ldq);
  for (int64_t nb0 = 0; nb0 < B.blocks; nb0 += 4) {
    switch (std::min<int64_t>(4, B.blocks - nb0)) {
      case 4: int8_rows<4>(q.data(), ldq, row_scale.data(), B, n, nb0, C, ldc, accumulate); break;
      case 3: int8_rows<3>(q.data(), ldq, row_scale.data(), B, n, nb0, C, ldc, accumulate); break;
      case 2: int8_rows<2>(q.data(), ldq, row_scale.data(), B, n, nb0, C, ldc, accumulate); break;
      default: int8_rows<1>(q.data(), ldq, row_scale.data(), B, n, nb0, C, ldc, accumulate); break;
    }
  }
}

}  // namespace rnnkit
#endif
