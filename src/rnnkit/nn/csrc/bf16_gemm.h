// The per-step product of a recurrence in bfloat16, C (n x N, float32) = A (n x K, bfloat16) * B (K x N).
//
// B (a weight matrix) is packed once per call of the layer into the layout of AVX-512 BF16's dot-product
// instruction (pairs of k side by side, 16 columns per vector, zero-padded to whole blocks); each step then
// multiplies the current state in register tiles of up to 6 rows by 64 columns and writes float32: the gates
// get the products unrounded, which ATen's bfloat16 matmul (bfloat16 output) cannot give, and at these
// sizes (a few dozen rows, a few hundred columns) it runs several times faster than float32 GEMM.
//
// Compiled only where the compiler targets AVX-512 BF16 (RNNKIT_BF16_GEMM); elsewhere the callers fall back
// to ATen.
#pragma once

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#define RNNKIT_BF16_GEMM 1
#include <immintrin.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rnnkit {

// B packed: for column block nb (16 columns) and k-pair p, 32 bfloat16 values: (B[2p][c], B[2p+1][c]) for
// c = 16 nb .. 16 nb + 15. Stored as blocks[nb][p][32].
struct PackedB {
  at::Tensor data;  // (N_blocks, K_pairs, 32) bfloat16
  int64_t K, N, k_pairs, n_blocks;
  const uint16_t* block(int64_t nb) const {
    return reinterpret_cast<const uint16_t*>(data.data_ptr<c10::BFloat16>()) + nb * k_pairs * 32;
  }
};

// Pack B (K x N) given as element(k, n) -> bfloat16 bits.
template <typename Get> PackedB pack_b(int64_t K, int64_t N, const Get& element) {
  PackedB packed;
  packed.K = K;
  packed.N = N;
  packed.k_pairs = (K + 1) / 2;
  packed.n_blocks = (N + 15) / 16;
  packed.data = at::zeros({packed.n_blocks, packed.k_pairs, 32}, at::kBFloat16);
  uint16_t* out = reinterpret_cast<uint16_t*>(packed.data.data_ptr<c10::BFloat16>());
  for (int64_t nb = 0; nb < packed.n_blocks; ++nb)
    for (int64_t p = 0; p < packed.k_pairs; ++p)
      for (int64_t c = 0; c < 16; ++c) {
        const int64_t n = nb * 16 + c;
        if (n >= N) continue;
        uint16_t* slot = out + (nb * packed.k_pairs + p) * 32 + 2 * c;
        slot[0] = element(2 * p, n);
        if (2 * p + 1 < K) slot[1] = element(2 * p + 1, n);
      }
  return packed;
}

// B = W^T for W (N x K) row-major (the forward product h W^T), or B = W (K x N) row-major (the backward one).
inline PackedB pack_transposed(const at::Tensor& w) {  // w (N, K) bfloat16
  const uint16_t* p = reinterpret_cast<const uint16_t*>(w.data_ptr<c10::BFloat16>());
  const int64_t N = w.size(0), K = w.size(1);
  return pack_b(K, N, [&](int64_t k, int64_t n) { return p[n * K + k]; });
}
inline PackedB pack_plain(const at::Tensor& w) {  // w (K, N) bfloat16
  const uint16_t* p = reinterpret_cast<const uint16_t*>(w.data_ptr<c10::BFloat16>());
  const int64_t K = w.size(0), N = w.size(1);
  return pack_b(K, N, [&](int64_t k, int64_t n) { return p[k * N + n]; });
}

// A pair of A's row r at k-pair p, broadcast to all lanes (the last pair of an odd K is zero-extended).
inline __m512i pair_of(const uint16_t* row, int64_t p, int64_t K) {
  if (2 * p + 1 < K) {
    int32_t bits;
    std::memcpy(&bits, row + 2 * p, sizeof bits);
    return _mm512_set1_epi32(bits);
  }
  return _mm512_set1_epi32(static_cast<int32_t>(row[2 * p]));
}

// Rows [r0, r0 + MR) times column blocks [nb0, nb0 + NB): MR x NB accumulators of 16 floats.
template <int MR, int NB>
inline void tile(const uint16_t* A, int64_t lda, const PackedB& B, int64_t r0, int64_t nb0, float* C, int64_t ldc) {
  __m512 acc[MR][NB];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_setzero_ps();
  const uint16_t* blocks[NB];
  for (int j = 0; j < NB; ++j) blocks[j] = B.block(nb0 + j);
  for (int64_t p = 0; p < B.k_pairs; ++p) {
    __m512bh b[NB];
    for (int j = 0; j < NB; ++j) b[j] = (__m512bh)_mm512_loadu_si512(blocks[j] + p * 32);
    for (int r = 0; r < MR; ++r) {
      const __m512bh a = (__m512bh)pair_of(A + (r0 + r) * lda, p, B.K);
      for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], a, b[j]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NB; ++j) {
      const int64_t n = (nb0 + j) * 16;
      const int64_t left = B.N - n;
      float* out = C + (r0 + r) * ldc + n;
      if (left >= 16) _mm512_storeu_ps(out, acc[r][j]);
      else _mm512_mask_storeu_ps(out, static_cast<__mmask16>((1u << left) - 1), acc[r][j]);
    }
}

template <int NB>
inline void rows(const uint16_t* A, int64_t lda, const PackedB& B, int64_t n_rows, int64_t nb0, float* C, int64_t ldc) {
  int64_t r = 0;
  for (; r + 6 <= n_rows; r += 6) tile<6, NB>(A, lda, B, r, nb0, C, ldc);
  switch (n_rows - r) {
    case 5: tile<5, NB>(A, lda, B, r, nb0, C, ldc); break;
    case 4: tile<4, NB>(A, lda, B, r, nb0, C, ldc); break;
    case 3: tile<3, NB>(A, lda, B, r, nb0, C, ldc); break;
    case 2: tile<2, NB>(A, lda, B, r, nb0, C, ldc); break;
    case 1: tile<1, NB>(A, lda, B, r, nb0, C, ldc); break;
    default: break;
  }
}

// C[0:n, 0:N] = A[0:n, 0:K] * B, A with row stride lda (bfloat16), C with row stride ldc (float32).
// Threads split the column blocks: each reads all of A (small) and its share of B.
inline void bf16_gemm(const c10::BFloat16* A_, int64_t lda, int64_t n, const PackedB& B, float* C, int64_t ldc) {
  const uint16_t* A = reinterpret_cast<const uint16_t*>(A_);
  const int64_t groups = (B.n_blocks + 3) / 4;  // 4 column blocks (64 columns) per group
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n * B.k_pairs * 2));
  at::parallel_for(0, groups, grain, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const int64_t nb0 = g * 4, nb = std::min<int64_t>(4, B.n_blocks - nb0);
      switch (nb) {
        case 4: rows<4>(A, lda, B, n, nb0, C, ldc); break;
        case 3: rows<3>(A, lda, B, n, nb0, C, ldc); break;
        case 2: rows<2>(A, lda, B, n, nb0, C, ldc); break;
        default: rows<1>(A, lda, B, n, nb0, C, ldc); break;
      }
    }
  });
}

}  // namespace rnnkit
#endif
