"""What each stage hands to the next: small, frozen, JSON-serialisable results.

The pipeline passes these between the ``prepare-data``, ``fine-tune`` and ``deploy`` flows;
Prefect stores them as flow-run results, so they carry paths and ids, never tensors.
"""

from pydantic import BaseModel, ConfigDict, Field

# Tags every registered model version carries (its lineage), read by the gate and the CLI.
TAG_PROJECT = "cubeops.project"
TAG_DATA_DIGEST = "cubeops.data_digest"
TAG_RUN_ID = "cubeops.run_id"
TAG_PREFECT_RUN = "cubeops.prefect_flow_run_id"
TAG_GIT_COMMIT = "cubeops.git_commit"
TAG_BASE_MODEL = "cubeops.base_model"
TAG_TRAIN_KEY = "cubeops.train_key"
TAG_GATE = "cubeops.gate"
TAG_GATE_REASON = "cubeops.gate_reason"

# MLflow aliases of the registered model; never registry stages.
CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"


class Result(BaseModel):
    """Base of every stage result."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class PreparedData(Result):
    """A prepared, versioned dataset under ``.cubeops/data/<digest>/``."""

    digest: str = Field(description="Content digest of cleaned data + prep settings + tokenizer identity.")
    path: str = Field(description="The dataset folder.")
    train_path: str = Field(description="`datasets.save_to_disk` folder of train blocks (input_ids, labels).")
    validation_path: str = Field(description="`datasets.save_to_disk` folder of validation blocks.")
    tokenizer_path: str = Field(description="Tokenizer saved with save_pretrained.")
    tokenizer_id: str = Field(description="Identity of the tokenizer (name and a hash of its vocabulary).")
    block_size: int
    documents: int = Field(description="Documents kept after cleaning.")
    tokens: int = Field(description="Tokens in the packed blocks.")
    train_blocks: int
    validation_blocks: int
    sources: list[str] = Field(default_factory=list)
    cache_hit: bool = False
    mlflow_run_id: str | None = None


class TrainedModel(Result):
    """A registered model version produced by ``fine-tune``."""

    model_name: str
    version: str
    run_id: str
    model_uri: str = Field(description="models:/NAME/VERSION")
    data_digest: str
    metrics: dict[str, float] = Field(default_factory=dict)
    reused: bool = Field(False, description="True when nothing changed and the existing version was reported.")


class Deployment(Result):
    """What ``deploy`` did."""

    model_name: str
    version: str | None = Field(description="The version now served (the champion), if any.")
    url: str | None = None
    verdict: str = Field("", description="The gate's verdict on the challenger.")
    promoted: bool = False
    rolled_back: bool = False
