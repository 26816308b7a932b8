"""One rank of a multi-process training launch (``python -m flows.train --worker REQUEST``).

Every rank loads the data and the base model and trains; the Trainer wraps the model in DDP
from the launcher's environment. Rank 0 alone logs to the MLflow run the parent opened,
publishes status and heartbeats, saves the final model and writes the result file.
"""

import os
import signal
from pathlib import Path

from flows.errors import UserError
from flows.train import distributed

# How many processes trained the run, as the launcher reported it to rank 0.
WORLD_SIZE_TAG = "cubeops.world_size"


def run_worker(request_path: Path) -> int:
    """Train this rank's share of the run described in ``request_path``; returns the exit code."""
    launcher = os.getppid()
    distributed.death_signal_setter(signal.SIGKILL)()
    if os.getppid() != launcher:  # the launcher died before the line above took effect
        return 1
    request = distributed.WorkerRequest.model_validate_json(request_path.read_text(encoding="utf-8"))
    folder = Path(request.checkpoint_dir)
    rank_zero = distributed.is_rank_zero(os.environ)
    try:
        _train(request, folder, rank_zero)
    except UserError as exc:
        # The parent raises this message as is; the other ranks stop with the launcher.
        if rank_zero:
            distributed.write_result(folder / distributed.RESULT_FILE, error=str(exc))
        return exc.exit_code
    return 0


def _train(request: distributed.WorkerRequest, folder: Path, rank_zero: bool) -> None:
    import mlflow

    from flows.layout import resolve_layout
    from flows.train.tasks import TrainPlan, _fit, _inputs, _save_final

    spec = request.spec
    if spec.train.threads:
        import torch

        torch.set_num_threads(spec.train.threads)
    layout = resolve_layout(spec, request.root)
    blocks, model, _ = _inputs(spec, request.data, layout)
    plan = TrainPlan(
        train_key=request.train_key,
        checkpoint_dir=request.checkpoint_dir,
        device=request.device,
        precision=request.precision,
        precision_reason=request.precision_reason,
        key_material={},
    )
    publisher = None
    if rank_zero:
        from status.publish import publisher_for

        mlflow.set_tracking_uri(request.tracking_uri)
        mlflow.MlflowClient().set_tag(request.run_id, WORLD_SIZE_TAG, os.environ.get("WORLD_SIZE", "1"))
        publisher = publisher_for(spec, layout)
    resume = Path(request.resume_from) if request.resume_from else None
    result = _fit(
        spec, plan, blocks, model, folder, resume, request.run_id, publisher, request.links, request.hyperparameters
    )
    if rank_zero:
        _save_final(model, blocks.tokenizer, folder)
        distributed.write_result(folder / distributed.RESULT_FILE, result=result)
