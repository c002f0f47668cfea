"""Could int8 or autocast reach 2x nn.LSTM float32 inference at the layer bench's (B64, T100, I32, H128)? A probe
for issue 20, one thread, CPU time, medians of repeats.

    taskset -c 1 env OMP_NUM_THREADS=1 python bench/inference_int8_probe.py      # about 20 s

Prints: whether ``quantize_dynamic`` changes ``nn.LSTM`` at all (its outputs against float32), ``nn.LSTM``
inference under ``torch.autocast(bfloat16)`` against float32, and the recurrent product alone (64x128 @ 128x512)
in float32, bf16 and fbgemm's dynamic int8 (``quantized.linear_dynamic``).
"""

from __future__ import annotations

import time
import warnings

import torch


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return sorted(times)[repeats // 2]


def main() -> None:
    torch.set_num_threads(1)
    batch, steps, inputs, hidden = 64, 100, 32, 128
    lstm = torch.nn.LSTM(inputs, hidden, batch_first=True).eval()
    x = torch.randn(batch, steps, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated
        quantized = torch.ao.quantization.quantize_dynamic(lstm, {torch.nn.LSTM}, dtype=torch.qint8)
        weight = torch.randn(4 * hidden, hidden)
        packed = torch.ops.quantized.linear_prepack(torch.quantize_per_channel(
            weight, torch.full((4 * hidden,), 0.02), torch.zeros(4 * hidden, dtype=torch.long), 0, torch.qint8), None)
    with torch.inference_mode():
        difference = (lstm(x)[0] - quantized(x)[0]).abs().max().item()
        print(f"quantize_dynamic(nn.LSTM): largest output difference from float32 {difference:.3g}"
              f" ({'a no-op' if difference == 0 else 'quantized'})")
        fp32 = median_seconds(lambda: lstm(x), 20)
        with torch.autocast("cpu", torch.bfloat16):
            bf16 = median_seconds(lambda: lstm(x), 20)
        print(f"nn.LSTM inference: float32 {fp32 * 1e3:.2f} ms, autocast bf16 {bf16 * 1e3:.2f} ms: {fp32 / bf16:.2f}x")
        state = torch.randn(batch, hidden)
        weight_t = weight.t().contiguous()
        state_bf16, weight_bf16 = state.bfloat16(), weight_t.bfloat16()
        products = {"float32": lambda: state @ weight_t, "bf16": lambda: state_bf16 @ weight_bf16,
                    "int8 dynamic": lambda: torch.ops.quantized.linear_dynamic(state, packed)}
        seconds = {name: median_seconds(run, 200) for name, run in products.items()}
        print("recurrent product 64x128 @ 128x512: " + ", ".join(
            f"{name} {s * 1e6:.1f} us ({seconds['float32'] / s:.2f}x)" for name, s in seconds.items()))


if __name__ == "__main__":
    main()
