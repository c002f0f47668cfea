// Vector arithmetic shared by rnnkit's C++ kernels: the gate arithmetic is written once, generic over the lane
// type V, and runs 16 float lanes at a time (vf) or one lane (float, double).
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace rnnkit {

// The gate pass is written once, generic over the lane type V: GCC's vector extensions turn the vf version
// into AVX-512 (or AVX2, or SSE) code whatever the compiler's auto-vectoriser decides; double (the gradient
// checks) and the last H % 16 units run one lane at a time.

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef uint32_t vu __attribute__((vector_size(64)));
typedef uint16_t vh __attribute__((vector_size(32)));
constexpr int64_t kLanes = 16;
#define INLINE inline __attribute__((always_inline))  // 64-byte vectors must not cross a call
#define FLATTEN __attribute__((flatten))  // on a row kernel: inline everything it calls
#define LANES __attribute__((always_inline))  // on the lambda over_units runs for each group of lanes

INLINE vf splat(float v) { return vf{} + v; }
// (a NaN gives b, as AVX-512's vmaxps / vminps do: one instruction where GCC writes a compare and a blend)
#if defined(__AVX512F__)
INLINE vf max_(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
INLINE vf min_(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
#else
INLINE vf max_(vf a, vf b) { return a > b ? a : b; }
INLINE vf min_(vf a, vf b) { return a < b ? a : b; }
#endif
INLINE vf select_(vf cond_source, vf if_positive, vf otherwise) {  // cond_source >= 0 ? if_positive : otherwise
  return cond_source >= 0.0f ? if_positive : otherwise;
}
template <typename T> INLINE T select_(T cond_source, T if_positive, T otherwise) {
  return cond_source >= T(0) ? if_positive : otherwise;
}
INLINE vf relu(vf a) { return a > 0.0f ? a : splat(0.0f); }
INLINE vf positive_part(vf h, vf d) { return h > 0.0f ? d : splat(0.0f); }  // d where h > 0, else 0
template <typename T> INLINE T relu(T a) { return a > T(0) ? a : T(0); }
template <typename T> INLINE T positive_part(T h, T d) { return h > T(0) ? d : T(0); }

// exp on [-87, 88] as 2^n e^r, r in [-ln2/2, ln2/2], e^r = 1 + r + r^2 q(r) with q of degree 3, fitted for the
// least largest relative error (1.6e-7, about 3 ulp; Cephes' degree-5 q: 0.7e-7 for two more multiply-adds).
INLINE vf exp_(vf x) {
  x = min_(max_(x, splat(-87.0f)), splat(88.0f));
  const vf shift = splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
  const vf n = (x * 1.44269504088896341f + shift) - shift;
  const vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
  vf p = splat(8.3125252277e-3f);
  p = p * r + 4.1890114546e-2f;
  p = p * r + 1.6667114198e-1f;
  p = p * r + 4.9999231100e-1f;
  p = p * r * r + r + 1.0f;
#if defined(__AVX512F__)
  return (vf)_mm512_scalef_ps((__m512)p, (__m512)n);  // p 2^n in one instruction; the same number
#else
  const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
  return p * (vf)bits;
#endif
}
INLINE float exp_(float x) {
  vf v = splat(x);
  return exp_(v)[0];
}
INLINE double exp_(double x) { return std::exp(x); }

// 1/x: AVX-512's 14-bit reciprocal and one Newton step (float precision) instead of a division, which costs
// several times more on the CPUs we measured; a plain division elsewhere.
INLINE vf recip(vf x) {
#if defined(__AVX512F__)
  const vf y = (vf)_mm512_rcp14_ps((__m512)x);
  return y * (2.0f - x * y);
#else
  return 1.0f / x;
#endif
}
INLINE float recip(float x) { return 1.0f / x; }

template <typename V> INLINE V sigmoid(V x) { return recip(1.0f + exp_(-x)); }
INLINE double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
template <typename V> INLINE V tanh_(V x) { return 2.0f * recip(1.0f + exp_(-2.0f * x)) - 1.0f; }
INLINE double tanh_(double x) { return std::tanh(x); }

// Loads and stores of one lane or 16, from float, double or bfloat16 memory (bfloat16 rounded to nearest even).
template <typename V> struct Mem;
template <> struct Mem<double> {
  static INLINE double load(const double* p) { return *p; }
  static INLINE void store(double* p, double v) { *p = v; }
};
template <> struct Mem<float> {
  static INLINE float load(const float* p) { return *p; }
  static INLINE float load(const c10::BFloat16* p) {
    const uint32_t bits = static_cast<uint32_t>(p->x) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  static INLINE void store(float* p, float v) { *p = v; }
  static INLINE void store(c10::BFloat16* p, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    p->x = static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
  }
};
template <> struct Mem<vf> {
  static INLINE vf load(const float* p) {
    vf v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static INLINE vf load(const c10::BFloat16* p) {
    vh h;
    std::memcpy(&h, p, sizeof h);
    const vu bits = __builtin_convertvector(h, vu) << 16;
    return (vf)bits;
  }
  static INLINE void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
  static INLINE void store(c10::BFloat16* p, vf v) {
    const vu bits = (vu)v;
    const vh h = __builtin_convertvector((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16, vh);
    std::memcpy(p, &h, sizeof h);
  }
};

// Asks for the cache lines of [p, p + bytes) ahead of their use (kWrite: to be written): the min-RNN backward
// pass walks (B, T, H) tensors backwards in time, which the hardware prefetchers did not follow.
template <bool kWrite = false> INLINE void prefetch(const void* p, int64_t bytes) {
  const char* line = static_cast<const char*>(p);
  for (int64_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(line + offset, kWrite ? 1 : 0, 3);
}

// Runs body.template operator()<V>(j) over units j = 0 .. H-1: 16 at a time for float, then one at a time.
template <typename acc_t, typename F> INLINE void over_units(int64_t H, const F& body) {
  int64_t j = 0;
  if constexpr (std::is_same_v<acc_t, float>) {
    for (; j + kLanes <= H; j += kLanes) body(vf{}, j);
  }
  for (; j < H; ++j) body(acc_t{}, j);
}

// Calls f(acc_t{}, mm_t{}) for the state's dtype (acc_t) and the products' dtype (mm_t) the kernels support:
// double/double (gradient checks), float/float, float/bfloat16 (bf16-mixed).
template <typename F> auto dispatch_dtypes(c10::ScalarType acc, c10::ScalarType mm, const F& f) {
  if (acc == c10::kDouble && mm == c10::kDouble) return f(double{}, double{});
  if (acc == c10::kFloat && mm == c10::kFloat) return f(float{}, float{});
  TORCH_CHECK(acc == c10::kFloat && mm == c10::kBFloat16, "unsupported dtypes: state ", acc, ", products ", mm);
  return f(float{}, c10::BFloat16{});
}

}  // namespace rnnkit
