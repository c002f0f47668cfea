// The per-step product of a recurrence, C (n x N, float32) = A (n x K) * B (K x N), with B packed once.
//
// B (a weight matrix) is packed once per call of the layer into 16-column blocks laid out as the vector
// instructions read them; each step multiplies the current state in register tiles of up to 6 rows by 64
// columns. At these sizes (a few dozen rows, a few hundred columns, a weight that stays in cache) a
// purpose-built kernel runs well above a general GEMM: the float32 one in MKL takes its generic code path on
// AMD CPUs, and ATen's bfloat16 one returns bfloat16, while the gates want float32.
//
//   float32:  A float32, B packed as [block][k][16 columns];      one broadcast + fused multiply-add per k.
//   bfloat16: A bfloat16, B packed as [block][k/2][16 columns][2]; AVX-512 BF16's dot product per pair of k
//             (an odd K ends with the pair (A[K-1], 0)); accumulates in float32.
//
// Compiled where the compiler targets AVX-512 (RNNKIT_STEP_GEMM; bfloat16 also needs AVX-512 BF16,
// RNNKIT_BF16_GEMM); elsewhere the callers use ATen.
#pragma once

#if defined(__AVX512F__)
#define RNNKIT_STEP_GEMM 1
#if defined(__AVX512BF16__)
#define RNNKIT_BF16_GEMM 1
#endif
#include <immintrin.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rnnkit {

struct Packed {
  at::Tensor data;           // float32: (blocks, K, 16); bfloat16: (blocks, K/2 rounded up, 32)
  const void* base = nullptr;  // data's first value (or a caller's buffer in the same layout)
  int64_t K = 0, N = 0, steps = 0, blocks = 0;  // steps: k (float32) or k-pairs (bfloat16) per block
  const void* block(int64_t nb, int64_t width) const { return static_cast<const char*>(base) + nb * steps * width; }
};

// Pack B (K x N), B[k][n] = b_of(k, n), for elements of `scalar` type (float or c10::BFloat16).
template <typename scalar, typename Get> Packed pack(int64_t K, int64_t N, const Get& b_of) {
  constexpr bool pairs = std::is_same_v<scalar, c10::BFloat16>;
  Packed packed;
  packed.K = K;
  packed.N = N;
  packed.steps = pairs ? (K + 1) / 2 : K;
  packed.blocks = (N + 15) / 16;
  packed.data = at::zeros({packed.blocks, packed.steps, 16 * (pairs ? 2 : 1)},
                          pairs ? at::kBFloat16 : at::kFloat);
  scalar* out = static_cast<scalar*>(packed.data.data_ptr());
  packed.base = out;
  for (int64_t nb = 0; nb < packed.blocks; ++nb)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < 16 && nb * 16 + c < N; ++c) {
        const int64_t slot = pairs ? ((nb * packed.steps + k / 2) * 16 + c) * 2 + k % 2 : (nb * K + k) * 16 + c;
        out[slot] = b_of(k, nb * 16 + c);
      }
  return packed;
}

// B = W^T for W (N x K) row-major (the forward product h W^T), or B = W (K x N) (the backward one).
template <typename scalar> Packed pack_transposed(const at::Tensor& w) {
  const scalar* p = w.data_ptr<scalar>();
  const int64_t N = w.size(0), K = w.size(1);
  return pack<scalar>(K, N, [&](int64_t k, int64_t n) { return p[n * K + k]; });
}
template <typename scalar> Packed pack_plain(const at::Tensor& w) {
  const scalar* p = w.data_ptr<scalar>();
  const int64_t K = w.size(0), N = w.size(1);
  return pack<scalar>(K, N, [&](int64_t k, int64_t n) { return p[k * N + n]; });
}

// One step s of the inner loop for each kind: broadcast A's element(s), multiply-add with a packed vector.
struct F32 {
  using scalar = float;
  using vec = __m512;
  static constexpr int64_t width = 16 * sizeof(float);
  static vec load_b(const void* block, int64_t s) { return _mm512_loadu_ps(static_cast<const float*>(block) + s * 16); }
  static vec broadcast(const float* row, int64_t s) { return _mm512_set1_ps(row[s]); }
  static __m512 fma(__m512 acc, vec a, vec b) { return _mm512_fmadd_ps(a, b, acc); }
};
#if defined(RNNKIT_BF16_GEMM)
struct BF16Kind {
  using scalar = c10::BFloat16;
  using vec = __m512bh;
  static constexpr int64_t width = 32 * sizeof(uint16_t);
  static vec load_b(const void* block, int64_t s) {
    return (__m512bh)_mm512_loadu_si512(static_cast<const uint16_t*>(block) + s * 32);
  }
  static vec broadcast(const c10::BFloat16* row, int64_t s) {
    int32_t pair;
    std::memcpy(&pair, row + 2 * s, sizeof pair);
    return (__m512bh)_mm512_set1_epi32(pair);
  }
  static vec broadcast_last(const c10::BFloat16* row, int64_t K) {  // (A[K-1], 0) for an odd K
    return (__m512bh)_mm512_set1_epi32(static_cast<int32_t>(row[K - 1].x));
  }
  static __m512 fma(__m512 acc, vec a, vec b) { return _mm512_dpbf16_ps(acc, a, b); }
};
#else
struct BF16Kind : F32 {};  // never used: callers check RNNKIT_BF16_GEMM
#endif

// Rows [r0, r0 + MR) times column blocks [nb0, nb0 + NB): MR x NB accumulators of 16 floats.
inline __mmask16 columns_left(const Packed& B, int64_t n) {
  const int64_t left = B.N - n;
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// C = A B, or C += A B with `accumulate`.
template <typename Kind, int MR, int NB>
inline void tile(const typename Kind::scalar* A, int64_t lda, const Packed& B, int64_t r0, int64_t nb0, float* C,
                 int64_t ldc, bool accumulate) {
  __m512 acc[MR][NB];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NB; ++j) {
      const int64_t n = (nb0 + j) * 16;
      acc[r][j] = accumulate ? _mm512_maskz_loadu_ps(columns_left(B, n), C + (r0 + r) * ldc + n) : _mm512_setzero_ps();
    }
  const void* blocks[NB];
  for (int j = 0; j < NB; ++j) blocks[j] = B.block(nb0 + j, Kind::width);
  const typename Kind::scalar* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = A + (r0 + r) * lda;
  constexpr bool pairs = std::is_same_v<typename Kind::scalar, c10::BFloat16>;
  const int64_t full = pairs ? B.K / 2 : B.K;
  for (int64_t s = 0; s < full; ++s) {
    typename Kind::vec b[NB];
    for (int j = 0; j < NB; ++j) b[j] = Kind::load_b(blocks[j], s);
    for (int r = 0; r < MR; ++r) {
      const typename Kind::vec a = Kind::broadcast(rows[r], s);
      for (int j = 0; j < NB; ++j) acc[r][j] = Kind::fma(acc[r][j], a, b[j]);
    }
  }
  if constexpr (pairs) {
    if (B.K % 2) {
      typename Kind::vec b[NB];
      for (int j = 0; j < NB; ++j) b[j] = Kind::load_b(blocks[j], full);
      for (int r = 0; r < MR; ++r) {
        const typename Kind::vec a = Kind::broadcast_last(rows[r], B.K);
        for (int j = 0; j < NB; ++j) acc[r][j] = Kind::fma(acc[r][j], a, b[j]);
      }
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NB; ++j) {
      const int64_t n = (nb0 + j) * 16;
      _mm512_mask_storeu_ps(C + (r0 + r) * ldc + n, columns_left(B, n), acc[r][j]);
    }
}

template <typename Kind, int NB>
inline void tile_rows(const typename Kind::scalar* A, int64_t lda, const Packed& B, int64_t n_rows, int64_t nb0,
                      float* C, int64_t ldc, bool accumulate) {
  int64_t r = 0;
  for (; r + 6 <= n_rows; r += 6) tile<Kind, 6, NB>(A, lda, B, r, nb0, C, ldc, accumulate);
  switch (n_rows - r) {
    case 5: tile<Kind, 5, NB>(A, lda, B, r, nb0, C, ldc, accumulate); break;
    case 4: tile<Kind, 4, NB>(A, lda, B, r, nb0, C, ldc, accumulate); break;
    case 3: tile<Kind, 3, NB>(A, lda, B, r, nb0, C, ldc, accumulate); break;
    case 2: tile<Kind, 2, NB>(A, lda, B, r, nb0, C, ldc, accumulate); break;
    case 1: tile<Kind, 1, NB>(A, lda, B, r, nb0, C, ldc, accumulate); break;
    default: break;
  }
}

// C[0:n, 0:N] = A[0:n, 0:K] * B (or += with `accumulate`); A with row stride lda, C (float32) with row stride
// ldc. Threads split the 64-column groups: each reads all of A (small) and its share of B.
template <typename Kind>
void step_gemm(const typename Kind::scalar* A, int64_t lda, int64_t n, const Packed& B, float* C, int64_t ldc,
               bool accumulate = false) {
  const int64_t groups = (B.blocks + 3) / 4;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, n * B.steps * 64));
  at::parallel_for(0, groups, grain, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const int64_t nb0 = g * 4;
      switch (std::min<int64_t>(4, B.blocks - nb0)) {
        case 4: tile_rows<Kind, 4>(A, lda, B, n, nb0, C, ldc, accumulate); break;
        case 3: tile_rows<Kind, 3>(A, lda, B, n, nb0, C, ldc, accumulate); break;
        case 2: tile_rows<Kind, 2>(A, lda, B, n, nb0, C, ldc, accumulate); break;
        default: tile_rows<Kind, 1>(A, lda, B, n, nb0, C, ldc, accumulate); break;
      }
    }
  });
}

// ---- products with B read in place --------------------------------------------------------------------------
// C (n x N) = A B, or C += A B with `accumulate`; float32. A's element (r, s) is A[r * rs + s * cs] (so A may be
// a transposed view), B is row-major (K x N, row stride ldb) and read where it lies, unpacked: the min-RNN
// kernel's B is a weight it reads once per chunk of steps, or one chunk's gradients, both already in cache.
// Partial 16-column blocks are read and written with masks.

inline __mmask16 mask_of(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// (GCC keeps the accumulators in registers only when told to unroll every loop over them.)
template <int MR, int NB>
inline void view_tile(const float* A, int64_t rs, int64_t cs, int64_t K, const float* B, int64_t ldb, int64_t N,
                      int64_t r0, int64_t n0, float* C, int64_t ldc, bool accumulate) {
  __m512 acc[MR][NB];
  __mmask16 mask[NB];
  const float* rows[MR];
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) mask[j] = mask_of(N - n0 - 16 * j);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    rows[r] = A + (r0 + r) * rs;
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j)
      acc[r][j] = accumulate ? _mm512_maskz_loadu_ps(mask[j], C + (r0 + r) * ldc + n0 + 16 * j) : _mm512_setzero_ps();
  }
  const float* row_of_b = B + n0;
  for (int64_t s = 0; s < K; ++s, row_of_b += ldb) {
    __m512 b[NB];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) b[j] = _mm512_maskz_loadu_ps(mask[j], row_of_b + 16 * j);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(rows[r][s * cs]);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_fmadd_ps(a, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) _mm512_mask_storeu_ps(C + (r0 + r) * ldc + n0 + 16 * j, mask[j], acc[r][j]);
}

template <int NB>
inline void view_rows(const float* A, int64_t rs, int64_t cs, int64_t n, int64_t K, const float* B, int64_t ldb,
                      int64_t N, int64_t n0, float* C, int64_t ldc, bool accumulate) {
  int64_t r = 0;
  for (; r + 6 <= n; r += 6) view_tile<6, NB>(A, rs, cs, K, B, ldb, N, r, n0, C, ldc, accumulate);
  switch (n - r) {
    case 5: view_tile<5, NB>(A, rs, cs, K, B, ldb, N, r, n0, C, ldc, accumulate); break;
    case 4: view_tile<4, NB>(A, rs, cs, K, B, ldb, N, r, n0, C, ldc, accumulate); break;
    case 3: view_tile<3, NB>(A, rs, cs, K, B, ldb, N, r, n0, C, ldc, accumulate); break;
    case 2: view_tile<2, NB>(A, rs, cs, K, B, ldb, N, r, n0, C, ldc, accumulate); break;
    case 1: view_tile<1, NB>(A, rs, cs, K, B, ldb, N, r, n0, C, ldc, accumulate); break;
    default: break;
  }
}

// One thread: the callers run it inside their own parallel loop.
inline void view_gemm(const float* A, int64_t rs, int64_t cs, int64_t n, int64_t K, const float* B, int64_t ldb,
                      int64_t N, float* C, int64_t ldc, bool accumulate) {
  for (int64_t n0 = 0; n0 < N; n0 += 64) {
    switch (std::min<int64_t>(4, (N - n0 + 15) / 16)) {
      case 4: view_rows<4>(A, rs, cs, n, K, B, ldb, N, n0, C, ldc, accumulate); break;
      case 3: view_rows<3>(A, rs, cs, n, K, B, ldb, N, n0, C, ldc, accumulate); break;
      case 2: view_rows<2>(A, rs, cs, n, K, B, ldb, N, n0, C, ldc, accumulate); break;
      default: view_rows<1>(A, rs, cs, n, K, B, ldb, N, n0, C, ldc, accumulate); break;
    }
  }
}

}  // namespace rnnkit
#endif
