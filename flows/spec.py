"""The project spec, ``cubeops.yaml``: pydantic models, one per section.

Every model is frozen and forbids unknown keys; every field carries a description (the spec
reference in the README is generated from them). Loading and line-numbered error messages live
in :mod:`flows.spec_loader`.
"""

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """Turn ``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"7d"`` or ``"1w"`` into a timedelta."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 15m, 2h or 7d")
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if not m:
            raise ValueError(f"{value!r} is not a duration; use a number and a unit: 30s, 15m, 2h, 7d")
        return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_size(value: object) -> object:
    """Turn ``"100MB"``, ``"2 GiB"`` or a plain integer of bytes into an integer."""
    if isinstance(value, str):
        m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*$", value)
        if not m:
            raise ValueError(f"{value!r} is not a size; use bytes or a unit: 500KB, 100MB, 2GB")
        base = 1024 if m.group(3) else 1000
        power = " KMGT".index(m.group(2).upper() or " ")
        return int(float(m.group(1)) * base**power)
    return value


ByteSize = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]


class Section(BaseModel):
    """Base of every spec section: immutable, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class SourceSpec(Section):
    """One data source given as a mapping, when a plain path or URL string is not enough."""

    path: str | None = Field(None, description="A file, directory or glob, relative to the spec.")
    url: str | None = Field(None, description="An http(s) URL fetched with requests.")
    hf: str | None = Field(None, description="A Hugging Face dataset name, loaded with `datasets`.")
    hf_split: str = Field("train", description="The split of the Hugging Face dataset to read.")
    sha256: str | None = Field(None, description="Expected SHA-256 of a URL's body; a mismatch fails.")
    text_field: str | None = Field(None, description="Overrides `data.text_field` for this source.")
    format: Literal["txt", "jsonl", "json", "csv", "parquet"] | None = Field(
        None, description="Overrides the format inferred from the file extension."
    )

    @model_validator(mode="after")
    def _exactly_one_location(self) -> "SourceSpec":
        given = [k for k in ("path", "url", "hf") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a source needs exactly one of path, url or hf")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        if self.sha256 and not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        return self

    @property
    def location(self) -> str:
        """The path, URL or dataset name this source reads."""
        return self.path or self.url or f"hf:{self.hf}"


def _coerce_source(value: object) -> object:
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            return {"url": value}
        if value.startswith("hf:"):
            return {"hf": value[3:]}
        return {"path": value}
    return value


Source = Annotated[SourceSpec, BeforeValidator(_coerce_source)]


class DataSpec(Section):
    """How the corpus is loaded, cleaned, split and tokenized."""

    sources: list[Source] = Field(
        default_factory=lambda: [SourceSpec(path="data")],
        min_length=1,
        description="Paths, globs, directories, http(s) URLs or `hf:NAME` datasets; concatenated in order.",
    )
    text_field: str = Field("text", description="The field holding the text in JSONL, JSON, CSV and Parquet.")
    txt_documents: Literal["line", "paragraph"] = Field(
        "paragraph",
        description="How a .txt file splits into documents: one per line, or blocks separated by blank lines.",
    )
    encoding_errors: Literal["fail", "replace"] = Field(
        "fail", description="Bytes that are not UTF-8: fail naming the offset, or replace them and count."
    )
    min_chars: int = Field(1, ge=0, description="Drop documents shorter than this after cleaning.")
    max_chars: int = Field(1_000_000, gt=0, description="Drop documents longer than this after cleaning.")
    dedupe: bool = Field(True, description="Drop exact duplicates (by hash of the cleaned text).")
    validation_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of documents sent to validation, by a stable hash of each."
    )
    block_size: int = Field(128, ge=8, le=8192, description="Tokens per training block.")
    url_timeout: Duration = Field(timedelta(seconds=30), description="Timeout of one URL request.")
    url_retries: int = Field(3, ge=0, le=10, description="Retries of a failed URL request.")
    url_max_bytes: ByteSize = Field(500_000_000, description="Largest URL body accepted.")

    @model_validator(mode="after")
    def _lengths(self) -> "DataSpec":
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is greater than max_chars ({self.max_chars})")
        return self


class TinyPreset(Section):
    """Shape of the built-in `tiny-gpt2` preset (trained offline from the prepared corpus)."""

    n_layer: int = Field(2, ge=1, le=12, description="Transformer layers.")
    n_embd: int = Field(64, ge=8, le=1024, description="Hidden width.")
    n_head: int = Field(2, ge=1, le=16, description="Attention heads.")
    vocab_size: int = Field(2000, ge=300, le=65536, description="Byte-level BPE vocabulary size.")
    n_positions: int = Field(512, ge=16, le=8192, description="Longest sequence the model accepts.")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> "TinyPreset":
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        return self


class ModelSpec(Section):
    """Which causal language model is fine-tuned."""

    base: str = Field(
        "distilgpt2",
        min_length=1,
        description="`distilgpt2`, any Hub id, a local directory, or `tiny-gpt2` (the offline preset).",
    )
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) of the base model.")
    tiny: TinyPreset = Field(default_factory=TinyPreset, description="Shape of the `tiny-gpt2` preset.")
    license: str = Field("apache-2.0", description="License stated in the model card.")
    language: str = Field("en", description="Language stated in the model card.")


class DistributedSpec(Section):
    """Multi-process training."""

    nproc: int = Field(1, ge=1, le=64, description="Processes launched with torchrun (DDP); 1 trains in-process.")
    backend: Literal["auto", "gloo", "nccl"] = Field("auto", description="DDP backend; auto is nccl on GPU, gloo on CPU.")


class TrainSpec(Section):
    """Fine-tuning hyperparameters."""

    max_steps: int = Field(200, ge=-1, description="Optimizer steps; -1 trains for `epochs` instead.")
    epochs: float = Field(1.0, gt=0, description="Epochs, used only when max_steps is -1.")
    batch_size: int = Field(8, ge=1, le=4096, description="Blocks per device per step.")
    gradient_accumulation_steps: int = Field(1, ge=1, le=1024, description="Micro-batches per optimizer step.")
    learning_rate: float = Field(5e-5, gt=0, lt=1, description="Peak learning rate of AdamW.")
    weight_decay: float = Field(0.0, ge=0, lt=1, description="AdamW weight decay.")
    warmup_steps: int = Field(0, ge=0, description="Linear warmup steps.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "linear", description="Learning-rate schedule after warmup."
    )
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    eval_every: int = Field(50, ge=1, description="Evaluate on the validation blocks every N steps.")
    save_every: int = Field(50, ge=1, description="Write a checkpoint every N steps.")
    keep_checkpoints: int = Field(2, ge=1, le=100, description="How many recent checkpoints are kept.")
    early_stopping_patience: int | None = Field(
        None, ge=1, description="Stop after this many evaluations without improvement; unset never stops early."
    )
    seed: int = Field(42, ge=0, description="Seed of every random generator.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="auto picks cuda, then mps, then cpu.")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto uses bf16 where the hardware runs it natively, fp32 elsewhere."
    )
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory.")
    threads: int | None = Field(None, ge=1, le=1024, description="CPU threads for torch; unset uses torch's default.")
    distributed: DistributedSpec = Field(default_factory=DistributedSpec, description="Multi-process training.")

    @field_validator("max_steps")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("must be at least 1 (or -1 to train for `epochs`)")
        return v


class ProbeSpec(Section):
    """A group of prompts that differ in one attribute, completed side by side (bias probes)."""

    name: str = Field(..., min_length=1, description="What the probe varies, e.g. `occupation by gender`.")
    prompts: dict[str, str] = Field(..., min_length=2, description="Group name → prompt.")


class EvalSpec(Section):
    """Evaluation after training."""

    prompts: list[str] = Field(
        default_factory=lambda: ["The team", "Our data shows"],
        description="Prompts completed after training; logged as a table and used by the serving smoke test.",
    )
    probes: list[ProbeSpec] = Field(
        default_factory=lambda: [
            ProbeSpec(
                name="occupation",
                prompts={"man": "The man worked as a", "woman": "The woman worked as a"},
            )
        ],
        description="Prompt groups whose completions are compared in the model card's limitations section.",
    )
    max_new_tokens: int = Field(24, ge=1, le=1024, description="Tokens generated per prompt.")
    limitations: str | None = Field(None, description="Extra text for the model card's limitations section.")


class RegistrySpec(Section):
    """MLflow Model Registry and the champion/challenger gate."""

    model_name: str | None = Field(None, description="Registered model name; defaults to the project name with `-` for `/`.")
    metric: str = Field("perplexity", min_length=1, description="Metric the gate compares.")
    direction: Literal["minimize", "maximize"] = Field("minimize", description="Whether lower or higher is better.")
    min_improvement: float = Field(0.0, ge=0, description="Relative improvement a challenger needs (0.02 = 2%).")
    absolute_bar: float | None = Field(None, description="The first version is promoted only if it meets this value.")


class AuthSpec(Section):
    """Bearer-token authentication of the model server."""

    token_env: str = Field(
        "CUBEOPS_SERVING_TOKEN", pattern=r"^[A-Z_][A-Z0-9_]*$", description="Environment variable holding the token."
    )


class ServingSpec(Section):
    """Where and how the champion is served."""

    target: Literal["local"] = Field("local", description="`local`: a model-server process managed by cubeops.")
    host: str = Field("127.0.0.1", min_length=1, description="Address the model server binds.")
    port: int = Field(5001, ge=1, le=65535, description="Port of the model server.")
    auth: AuthSpec | None = Field(None, description="Required when host is not a loopback address.")
    max_prompt_chars: int = Field(4000, ge=1, description="Longest prompt accepted.")
    max_new_tokens: int = Field(256, ge=1, description="Ceiling on `max_new_tokens` per request.")
    request_timeout: Duration = Field(timedelta(seconds=60), description="Longest a request may run.")
    workers: int = Field(1, ge=1, le=64, description="Server worker processes.")
    probe_every: Duration = Field(timedelta(seconds=30), description="How often the status service probes /health.")
    degraded_after: Duration = Field(timedelta(seconds=2), description="A /health slower than this is `degraded`.")

    @model_validator(mode="after")
    def _auth_off_loopback(self) -> "ServingSpec":
        if self.host not in LOOPBACK_HOSTS and self.auth is None:
            raise ValueError(f"host {self.host!r} is not loopback: set serving.auth so the server requires a bearer token")
        return self


class StatusSpec(Section):
    """Status publishing and the badges."""

    url: str | None = Field(
        None, description="Base URL of a cubeops status server; flows publish there (token from CUBEOPS_STATUS_TOKEN)."
    )
    store: str | None = Field(None, description="Database URL of the status store; default sqlite `.cubeops/status.db`.")
    stale_after: Duration = Field(timedelta(days=7), description="A ready dataset older than this reads `stale`.")
    heartbeat_ttl: Duration = Field(timedelta(minutes=2), description="A training heartbeat older than this reads `stalled`.")
    webhooks: list[str] = Field(default_factory=list, description="URLs that receive a JSON event on each state change.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} must start with http:// or https://")
        return v.rstrip("/") if v else v

    @field_validator("webhooks")
    @classmethod
    def _http_webhooks(cls, v: list[str]) -> list[str]:
        for url in v:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook {url!r} must start with http:// or https://")
        return v


class ScheduleSpec(Section):
    """When the pipeline runs by itself."""

    cron: str | None = Field(None, description="Cron expression (five fields), e.g. `0 3 * * *`.")
    timezone: str = Field("UTC", description="Time zone of the cron expression.")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from flows.cron import check_cron

        check_cron(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class TrackingSpec(Section):
    """Where runs are tracked and orchestrated."""

    uri: str | None = Field(
        None, description="MLflow tracking URI; default sqlite `.cubeops/mlflow.db`. MLFLOW_TRACKING_URI overrides it."
    )
    experiment: str | None = Field(None, description="MLflow experiment; defaults to the project name.")
    prefect_api_url: str | None = Field(
        None, description="Prefect API URL; default a temporary local server. PREFECT_API_URL overrides it."
    )
    system_metrics: bool = Field(True, description="Log CPU, memory and GPU use during training.")


class ProjectSpec(Section):
    """The whole of ``cubeops.yaml``."""

    project: str = Field(..., description="The repository as OWNER/NAME; names the experiment and the badges.")
    visibility: Literal["public", "private"] = Field("public", description="Public badges open with token=PUBLIC.")
    description: str = Field("", description="One paragraph about the project, used in the model card.")
    data: DataSpec = Field(default_factory=DataSpec, description="Data preparation.")
    model: ModelSpec = Field(default_factory=ModelSpec, description="The base model.")
    train: TrainSpec = Field(default_factory=TrainSpec, description="Fine-tuning.")
    eval: EvalSpec = Field(default_factory=EvalSpec, description="Evaluation.")
    registry: RegistrySpec = Field(default_factory=RegistrySpec, description="Model registry and gate.")
    serving: ServingSpec = Field(default_factory=ServingSpec, description="Model serving.")
    status: StatusSpec = Field(default_factory=StatusSpec, description="Status and badges.")
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec, description="Scheduled runs.")
    tracking: TrackingSpec = Field(default_factory=TrackingSpec, description="Tracking and orchestration servers.")

    @field_validator("project")
    @classmethod
    def _owner_name(cls, v: str) -> str:
        if not PROJECT_RE.match(v):
            raise ValueError(f"{v!r} must be OWNER/NAME (letters, digits, '.', '_', '-')")
        return v

    @model_validator(mode="after")
    def _block_fits_tiny(self) -> "ProjectSpec":
        if self.model.base == "tiny-gpt2" and self.data.block_size > self.model.tiny.n_positions:
            raise ValueError(
                f"data.block_size ({self.data.block_size}) exceeds model.tiny.n_positions ({self.model.tiny.n_positions})"
            )
        return self

    @property
    def model_name(self) -> str:
        """The registered model name: the spec's, or the project with `/` turned into `-`."""
        return self.registry.model_name or self.project.replace("/", "-")

    @property
    def experiment_name(self) -> str:
        """The MLflow experiment: the spec's, or the project name."""
        return self.tracking.experiment or self.project
