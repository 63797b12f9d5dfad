"""A small fake Hugging Face checkpoint folder for the registry tests: a real Llama-shaped
``config.json``, a safetensors file written by hand (8-byte header length, JSON header, raw
little-endian float32 bytes, the format of https://github.com/huggingface/safetensors) and
tokenizer files. Not servable (the tokenizer is a stub); the lead's tiny model is.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

SHAPE = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 64,
    "max_position_embeddings": 256,
}


def llama_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """Every tensor of a LlamaForCausalLM of ``SHAPE`` (untied embeddings)."""
    h, i, v = SHAPE["hidden_size"], SHAPE["intermediate_size"], SHAPE["vocab_size"]
    kv = h // SHAPE["num_attention_heads"] * SHAPE["num_key_value_heads"]
    rng = np.random.default_rng(seed)
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (v, h)}
    for n in range(SHAPE["num_hidden_layers"]):
        p = f"model.layers.{n}."
        shapes |= {
            p + "self_attn.q_proj.weight": (h, h),
            p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h),
            p + "self_attn.o_proj.weight": (h, h),
            p + "mlp.gate_proj.weight": (i, h),
            p + "mlp.up_proj.weight": (i, h),
            p + "mlp.down_proj.weight": (h, i),
            p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
        }
    shapes |= {"model.norm.weight": (h,), "lm_head.weight": (v, h)}
    return {k: rng.standard_normal(s).astype("<f4") for k, s in shapes.items()}


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, array in tensors.items():
        data = array.tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def fake_checkpoint(folder: Path, *, seed: int = 0, shards: int = 1) -> Path:
    """Write the checkpoint into ``folder`` (created); ``seed`` changes the weights' bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "dtype": "float32",
        "tie_word_embeddings": False,
        **SHAPE,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    tensors = list(llama_tensors(seed).items())
    for n in range(shards):
        part = dict(tensors[n::shards])
        name = f"model-{n + 1:05d}-of-{shards:05d}" if shards > 1 else "model"
        write_safetensors(folder / f"{name}.safetensors", part)
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {}}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 256}))
    return folder


def expected_parameters() -> int:
    """The parameter count of ``SHAPE``, from the Llama formula (not from the files)."""
    h, i, v = SHAPE["hidden_size"], SHAPE["intermediate_size"], SHAPE["vocab_size"]
    kv = h // SHAPE["num_attention_heads"] * SHAPE["num_key_value_heads"]
    per_layer = 2 * h * h + 2 * kv * h + 3 * h * i + 2 * h
    return 2 * v * h + SHAPE["num_hidden_layers"] * per_layer + h
