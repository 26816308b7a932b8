"""Device and precision: bf16 only where the hardware runs it natively, fp32 elsewhere, overridable."""

from pathlib import Path

import pytest

from flows.errors import TrainError
from flows.train.precision import Hardware, parse_cpu_flags, place, probe_hardware

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme sse sse2 avx2 avx512f {extra}
bogomips\t: 4000.00
"""

PLAIN_CPU = Hardware(cpu_flags=parse_cpu_flags(CPUINFO.format(extra="")))


@pytest.mark.parametrize("extra", ["avx512_bf16", "amx_bf16 amx_tile"])
def test_auto_uses_bf16_on_a_cpu_with_native_bf16(extra):
    hw = Hardware(cpu_flags=parse_cpu_flags(CPUINFO.format(extra=extra)))
    chosen = place("auto", "auto", hw)
    assert (chosen.device, chosen.precision) == ("cpu", "bf16")
    assert extra.split()[0] in chosen.reason


def test_auto_stays_fp32_on_a_cpu_without_bf16_and_the_spec_overrides_it():
    assert place("auto", "auto", PLAIN_CPU).precision == "fp32"
    assert place("auto", "bf16", PLAIN_CPU).precision == "bf16"
    bf16_cpu = Hardware(cpu_flags=frozenset({"avx512_bf16"}))
    assert place("auto", "fp32", bf16_cpu).precision == "fp32"


def test_auto_device_prefers_cuda_then_mps_and_gpu_bf16_follows_the_card():
    assert place("auto", "auto", Hardware(cuda=True, cuda_bf16=True, mps=True, name="H100")).precision == "bf16"
    assert place("auto", "auto", Hardware(cuda=True, cuda_bf16=False, name="T4")).precision == "fp32"
    assert place("auto", "auto", Hardware(mps=True)).device == "mps"


def test_impossible_requests_name_the_setting():
    with pytest.raises(TrainError, match="train.device is 'cuda'"):
        place("cuda", "auto", PLAIN_CPU)
    with pytest.raises(TrainError, match="fp16 needs a GPU"):
        place("cpu", "fp16", PLAIN_CPU)


def test_probe_reads_this_machines_cpu_flags(tmp_path):
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo on this system")
    flags = parse_cpu_flags(cpuinfo.read_text())
    assert probe_hardware().cpu_flags == flags
    missing = probe_hardware(tmp_path / "absent")
    assert missing.cpu_flags == frozenset()
