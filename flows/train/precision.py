"""Which device trains, and in which precision.

``precision: auto`` means bf16 autocast where the hardware computes bf16 natively (GPUs with
bf16, CPUs with AVX-512 BF16 or AMX), fp32 elsewhere: on CPUs without those instructions bf16
is emulated and slower than fp32.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flows.errors import TrainError

CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@dataclass(frozen=True)
class Hardware:
    """What the machine offers, as probed once per training run."""

    cuda: bool = False
    cuda_bf16: bool = False
    mps: bool = False
    cpu_flags: frozenset[str] = frozenset()
    name: str = "cpu"


@dataclass(frozen=True)
class Placement:
    """The device and precision a run uses, and why."""

    device: str
    precision: str
    reason: str


def parse_cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The instruction-set flags listed in ``/proc/cpuinfo`` text (empty when there are none)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_has_native_bf16(flags: Iterable[str]) -> bool:
    """True when the CPU computes bf16 in hardware (AVX-512 BF16 or AMX)."""
    return bool(CPU_BF16_FLAGS & set(flags))


def choose_device(requested: str, hw: Hardware) -> str:
    """``auto`` → cuda, then mps, then cpu; an explicit device must exist."""
    if requested == "auto":
        return "cuda" if hw.cuda else "mps" if hw.mps else "cpu"
    available = {"cpu": True, "cuda": hw.cuda, "mps": hw.mps}
    if not available[requested]:
        raise TrainError(
            f"train.device is {requested!r} but this machine has no {requested} device; use `auto` or `cpu`"
        )
    return requested


def choose_precision(requested: str, device: str, hw: Hardware) -> tuple[str, str]:
    """The precision for ``device`` and a one-line reason; ``auto`` picks bf16 only where it is native."""
    if requested == "fp16" and device == "cpu":
        raise TrainError("train.precision fp16 needs a GPU; on CPU use `bf16`, `fp32` or `auto`")
    if requested != "auto":
        return requested, "set in train.precision"
    if device == "cuda":
        if hw.cuda_bf16:
            return "bf16", f"{hw.name} supports bf16"
        return "fp32", f"{hw.name} has no bf16"
    if device == "cpu":
        if cpu_has_native_bf16(hw.cpu_flags):
            found = ", ".join(sorted(CPU_BF16_FLAGS & hw.cpu_flags))
            return "bf16", f"CPU has {found}"
        return "fp32", "CPU has neither avx512_bf16 nor amx_bf16"
    # MPS autocast coverage is partial; fp32 is the dependable choice there.
    return "fp32", f"{device} trains in fp32"


def place(requested_device: str, requested_precision: str, hw: Hardware) -> Placement:
    """Resolve ``train.device`` and ``train.precision`` against the hardware."""
    device = choose_device(requested_device, hw)
    precision, reason = choose_precision(requested_precision, device, hw)
    return Placement(device, precision, reason)


def probe_hardware(cpuinfo_path: str | Path = "/proc/cpuinfo") -> Hardware:
    """Ask torch about GPUs and read the CPU flags (an empty set where there is no cpuinfo)."""
    import torch

    try:
        flags = parse_cpu_flags(Path(cpuinfo_path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        flags = frozenset()
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return Hardware(
        cuda=cuda,
        cuda_bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        mps=mps,
        cpu_flags=flags,
        name=torch.cuda.get_device_name(0) if cuda else "cpu",
    )
