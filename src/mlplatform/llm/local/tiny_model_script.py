"""Build a tiny random-weight Llama chat model in a folder (run by the LLM venv's Python).

This file is a standalone script: it imports only the standard library, torch, transformers and
tokenizers (what ``.venv-llm`` has), never mlplatform, because it runs in that other venv::

    .venv-llm/bin/python tiny_model_script.py DEST [--seed N]

The model is what vLLM needs to really start and really answer, and nothing more: hidden size
128, 2 layers, 4 attention heads (2 KV heads), a 2,000-token byte-level BPE vocabulary trained
here on generated text, a chat template, float32 safetensors weights (about 2 MB). Its answers
are random tokens; what the tests and the demo check is the serving path, not the words.
Everything is derived from the seed, so two builds with one seed are byte-identical.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

VOCAB_SIZE = 2000
CONTEXT = 2048
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL = ["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
WORDS = [
    "model",
    "data",
    "train",
    "serve",
    "cluster",
    "pipeline",
    "feature",
    "drift",
    "metric",
    "alert",
    "registry",
    "version",
    "canary",
    "latency",
    "token",
    "batch",
    "request",
    "answer",
    "question",
    "the",
    "a",
    "of",
    "to",
    "and",
    "is",
    "in",
    "for",
    "on",
    "with",
    "platform",
    "engine",
    "vector",
    "number",
    "cache",
    "key",
    "value",
    "run",
    "step",
    "store",
    "label",
    "champion",
    "challenger",
]


def corpus(seed: int, lines: int = 6000) -> list[str]:
    """Platform words and random letter strings: enough distinct pairs for a full vocabulary."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word() -> str:
        if rng.random() < 0.5:
            return rng.choice(WORDS)
        return "".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))

    return [" ".join(word() for _ in range(rng.randint(4, 16))) for _ in range(lines)]


def build_tokenizer(dest: Path, seed: int) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(seed), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="</s>",
        model_max_length=CONTEXT,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(dest)


def build_model(dest: Path, seed: int) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(dest, safe_serialization=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    dest: Path = args.dest
    if dest.exists() and any(dest.iterdir()):
        parser.error(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    build_tokenizer(dest, args.seed)
    build_model(dest, args.seed)
    (dest / "mlplatform-tiny.json").write_text(json.dumps({"seed": args.seed}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
