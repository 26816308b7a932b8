"""The built-in ``tiny-gpt2`` preset: a small GPT-2 and a byte-level BPE tokenizer, built offline.

The tokenizer is trained on the prepared corpus itself (deterministically), so a project can run
end to end with no download at all.
"""

from collections.abc import Iterable
from typing import Any

TINY_NAME = "tiny-gpt2"
SPECIAL = "<|endoftext|>"


def train_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 2000, max_length: int = 512) -> Any:
    """A byte-level BPE tokenizer trained on ``texts``, wrapped as a fast GPT-2 style tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=SPECIAL,
        eos_token=SPECIAL,
        unk_token=SPECIAL,
        pad_token=SPECIAL,
        model_max_length=max_length,
    )
    return fast


def build_tiny_model(tokenizer: Any, n_layer: int = 2, n_embd: int = 64, n_head: int = 2, n_positions: int = 512, seed: int = 0) -> Any:
    """A randomly initialised GPT-2 of the given shape, sized to ``tokenizer``'s vocabulary."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config)
